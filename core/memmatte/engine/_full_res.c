/* The full-resolution pass's inner loop (memmatte.engine.full_resolution): a band of plate
 * rows of fgr = clamp((A + 1) * src + b) and alpha = clamp(A * grey + b), with A and b
 * bilinearly upsampled from network size on the fly.
 *
 * Memory-bound work: the plate is read once and fgr and alpha written once. Numpy needs a
 * pass over plate-sized temporaries per operation (six or more), so this loop is in C. Only
 * two network rows, resampled across to plate width, exist at a time (one slot per row
 * parity): each plate row blends the two rows it lies between. The GIL is released, so
 * Python threads run bands side by side.
 *
 * Buffers come through the buffer protocol (no numpy headers needed to build), each checked
 * for its length, and every tap for its range, before the loop runs: a wrong caller gets a
 * ValueError, never a read out of bounds.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(_MSC_VER) && !defined(__cplusplus)
#define restrict __restrict /* MSVC's C before /std:c11 */
#endif

/* On x86-64 Linux the row loop is built twice, for AVX2 with FMA and for the baseline, and
 * the loader picks one for the CPU: 8 floats a step instead of 4 (4K, one thread: 34 ms to
 * 27; with two threads it is then faster than a plain numpy copy of the same bytes). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define WIDE_VECTORS __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define WIDE_VECTORS
#endif

/* Comparisons rather than fminf/fmaxf: a NaN stays a NaN, as numpy's and torch's clamps
 * leave it, so a bad plate shows where it is bad. */
static inline float clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

typedef struct {
    const float *a, *b;       /* (4, h, w) each */
    Py_ssize_t h, w, width;   /* network size; plate width */
    const int32_t *x0, *x1;   /* plate column -> network columns */
    const float *wx;          /* weight of x1 */
} Across;

/* Network row i at plate width into slot: A + 1 and b interleaved like the plate (3W each),
 * then A / 3 and b for alpha (W each), so a plate row needs one blend and one multiply-add. */
static void resample_row(const Across *c, Py_ssize_t i, float *slot)
{
    const Py_ssize_t W = c->width, plane = c->h * c->w;
    float *fa = slot, *fb = slot + 3 * W, *pa = slot + 6 * W, *pb = slot + 7 * W;
    for (int ch = 0; ch < 4; ch++) {
        const float *ar = c->a + ch * plane + i * c->w, *br = c->b + ch * plane + i * c->w;
        for (Py_ssize_t x = 0; x < W; x++) {
            const int32_t l = c->x0[x], r = c->x1[x];
            const float t = c->wx[x];
            const float av = ar[l] + t * (ar[r] - ar[l]), bv = br[l] + t * (br[r] - br[l]);
            if (ch < 3) {
                fa[3 * x + ch] = av + 1.0f;
                fb[3 * x + ch] = bv;
            } else {
                pa[x] = av * (1.0f / 3.0f);
                pb[x] = bv;
            }
        }
    }
}

WIDE_VECTORS
static void plate_row(const float *restrict s0, const float *restrict s1, float t, Py_ssize_t W,
                      const float *restrict src, float *restrict fgr, float *restrict pha)
{
    const float *fa0 = s0, *fb0 = s0 + 3 * W, *pa0 = s0 + 6 * W, *pb0 = s0 + 7 * W;
    const float *fa1 = s1, *fb1 = s1 + 3 * W, *pa1 = s1 + 6 * W, *pb1 = s1 + 7 * W;
    for (Py_ssize_t k = 0; k < 3 * W; k++) {
        const float fa = fa0[k] + t * (fa1[k] - fa0[k]), fb = fb0[k] + t * (fb1[k] - fb0[k]);
        fgr[k] = clamp01(fa * src[k] + fb);
    }
    for (Py_ssize_t x = 0; x < W; x++) {
        const float pa = pa0[x] + t * (pa1[x] - pa0[x]), pb = pb0[x] + t * (pb1[x] - pb0[x]);
        const float grey = src[3 * x] + src[3 * x + 1] + src[3 * x + 2];
        pha[x] = clamp01(pa * grey + pb);
    }
}

static int check_len(const Py_buffer *buf, Py_ssize_t items, Py_ssize_t itemsize,
                     const char *name)
{
    if (buf->len != items * itemsize) {
        PyErr_Format(PyExc_ValueError, "full-resolution pass: %s holds %zd bytes, expected %zd",
                     name, buf->len, items * itemsize);
        return -1;
    }
    return 0;
}

static int check_taps(const int32_t *i0, const int32_t *i1, const float *wt, Py_ssize_t n,
                      Py_ssize_t size, const char *name)
{
    for (Py_ssize_t k = 0; k < n; k++) {
        if (i0[k] < 0 || i1[k] < i0[k] || i1[k] > i0[k] + 1 || i1[k] >= size
                || !(wt[k] >= 0.0f && wt[k] <= 1.0f)) {
            PyErr_Format(PyExc_ValueError, "full-resolution pass: %s tap %zd is (%d, %d) for a "
                         "size of %zd; expected 0 <= i0 <= i1 <= i0 + 1 < size and a weight in "
                         "[0, 1]", name, k, (int)i0[k], (int)i1[k], size);
            return -1;
        }
    }
    return 0;
}

enum { RGB, FGR, PHA, A, B, X0, X1, WX, Y0, Y1, WY, NBUF };

static PyObject *apply(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer buf[NBUF] = {{0}};
    Py_ssize_t height, width, h, w, r0, r1;
    if (!PyArg_ParseTuple(args, "y*w*w*y*y*y*y*y*y*y*y*nnnnnn", &buf[RGB], &buf[FGR],
                          &buf[PHA], &buf[A], &buf[B], &buf[X0], &buf[X1], &buf[WX], &buf[Y0],
                          &buf[Y1], &buf[WY], &height, &width, &h, &w, &r0, &r1))
        return NULL;
    PyObject *result = NULL;
    float *slots = NULL;
    const Py_ssize_t f = sizeof(float), n = sizeof(int32_t);
    if (height < 1 || width < 1 || h < 1 || w < 1 || r0 < 0 || r1 > height || r0 > r1) {
        PyErr_Format(PyExc_ValueError, "full-resolution pass: rows %zd-%zd of a %zdx%zd plate "
                     "from %zdx%zd coefficients", r0, r1, width, height, w, h);
        goto done;
    }
    if (check_len(&buf[RGB], height * width * 3, f, "the plate") ||
        check_len(&buf[FGR], height * width * 3, f, "fgr") ||
        check_len(&buf[PHA], height * width, f, "alpha") ||
        check_len(&buf[A], 4 * h * w, f, "A") || check_len(&buf[B], 4 * h * w, f, "b") ||
        check_len(&buf[X0], width, n, "x0") || check_len(&buf[X1], width, n, "x1") ||
        check_len(&buf[WX], width, f, "wx") || check_len(&buf[Y0], height, n, "y0") ||
        check_len(&buf[Y1], height, n, "y1") || check_len(&buf[WY], height, f, "wy"))
        goto done;
    const int32_t *y0 = buf[Y0].buf, *y1 = buf[Y1].buf;
    const float *wy = buf[WY].buf;
    Across across = {buf[A].buf, buf[B].buf, h, w, width, buf[X0].buf, buf[X1].buf,
                     buf[WX].buf};
    if (check_taps(across.x0, across.x1, across.wx, width, w, "column") ||
        check_taps(y0, y1, wy, height, h, "row"))
        goto done;
    slots = malloc(sizeof(float) * 16 * (size_t)width);
    if (slots == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const float *rgb = buf[RGB].buf;
    float *fgr = buf[FGR].buf, *pha = buf[PHA].buf;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t held[2] = {-1, -1};
    for (Py_ssize_t r = r0; r < r1; r++) {
        const Py_ssize_t rows[2] = {y0[r], y1[r]};
        for (int k = 0; k < 2; k++) {
            const Py_ssize_t i = rows[k], slot = i & 1;
            if (held[slot] != i) {
                resample_row(&across, i, slots + slot * 8 * width);
                held[slot] = i;
            }
        }
        plate_row(slots + (rows[0] & 1) * 8 * width, slots + (rows[1] & 1) * 8 * width, wy[r],
                  width, rgb + r * width * 3, fgr + r * width * 3, pha + r * width);
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(slots);
    for (int k = 0; k < NBUF; k++)
        if (buf[k].obj != NULL)
            PyBuffer_Release(&buf[k]);
    return result;
}

static PyMethodDef methods[] = {
    {"apply", apply, METH_VARARGS,
     "apply(rgb, fgr, pha, a, b, x0, x1, wx, y0, y1, wy, height, width, h, w, r0, r1)\n\n"
     "Plate rows r0..r1 of fgr (HxWx3) and alpha (HxW) from the plate (HxWx3) and the guided\n"
     "filter's A and b (4xhxw), all float32 and C-contiguous; x and y taps (int32, int32,\n"
     "float32) as memmatte.engine.resample.taps_to_size gives them."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_full_res", "The full-resolution pass's inner loop.", -1, methods,
};

PyMODINIT_FUNC PyInit__full_res(void) { return PyModule_Create(&module); }
