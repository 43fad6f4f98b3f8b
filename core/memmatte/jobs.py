"""Job documents moved to ``memmatte.protocol`` (``memmatte.protocol.job``); this name stays
for callers of the old module (the farm package)."""
from .protocol.errors import JobError
from .protocol.job import JOB_VERSION, Job, job_from_dict, load_job, save_job

__all__ = ["JOB_VERSION", "Job", "JobError", "job_from_dict", "load_job", "save_job"]
