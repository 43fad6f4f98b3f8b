"""memmatte.train: training the matting network (datasets, teacher labels, losses, loop)."""
