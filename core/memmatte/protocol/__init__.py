"""memmatte's host seam: what a host adapter (Blender, Nuke, a farm submitter) imports.

Standard library only, Python 3.10+: settings and their validation, job documents, events and
requests, errors, cache keys, ``WorkerClient``, and ``service`` (a host's warm worker and its
render requests read by a thread), which drives a worker process running in
the runtime's own Python (``python -m memmatte.worker``). Importing it loads no numpy, torch,
onnxruntime, OpenImageIO, OCIO or PyAV (a test checks).
"""
from __future__ import annotations

from . import errors, events, service
from .cache_key import KEY_ATTRIBUTE, cache_key, source_stamp
from .client import WorkerClient, runtime_env
from .errors import JobError, MemmatteError, SettingsError, WorkerError, WorkerTimeout
from .events import PROTOCOL_VERSION
from .frame_range import parse_frames
from .job import JOB_VERSION, Job, job_from_dict, load_job, save_job
from .settings import BACKENDS, KEYS, RenderSettings, add_options, from_args, to_argv

__all__ = [
    "BACKENDS", "JOB_VERSION", "KEYS", "KEY_ATTRIBUTE", "PROTOCOL_VERSION", "Job", "JobError",
    "MemmatteError", "RenderSettings", "SettingsError", "WorkerClient", "WorkerError",
    "WorkerTimeout", "add_options", "cache_key", "errors", "events", "from_args",
    "job_from_dict", "load_job", "parse_frames", "runtime_env", "save_job", "service",
    "source_stamp", "to_argv",
]
