"""Workers: claim jobs with leases, run engines, write media, survive crashes."""

from reelforge.worker.runner import Worker

__all__ = ["Worker"]
