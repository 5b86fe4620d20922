"""Worker processes that die with their parent.

A pool's workers block on their task queue; when the stage's main process is killed (SIGKILL, OOM killer, a
cluster's time limit) nobody tells them, so they live on as orphans holding memory and open files. On Linux,
``prctl(PR_SET_PDEATHSIG, SIGKILL)`` asks the kernel to kill a process when its parent exits; call
:func:`die_with_parent` first thing in every pool initializer.

Under forkserver the parent is the fork server, which exits when it reads EOF on its "alive" pipe, i.e. when the
main process is gone. But CPython (3.11) hands every forked child a copy of the server's end of that pipe (so the
child could start fork servers of its own; ours start none); while any worker holds it the server never sees EOF,
never exits, and the death signal never fires: server and workers live on. :func:`die_with_parent` closes the
inherited copy, which completes the chain (tests/unit/data/test_image_shard_writes.py kills a stage to check).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> bool:
    """Have the kernel SIGKILL this process when its parent exits. Returns False where the platform cannot
    (not Linux); then an orphan is still possible, as before."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")
    # the parent may have died between fork and prctl: then we are already an orphan (reparented)
    if os.getppid() == 1:
        os._exit(1)
    _close_inherited_forkserver_pipe()
    return True


def _close_inherited_forkserver_pipe() -> None:
    """In a child of a fork server, close the copy of the server's "alive" pipe it inherited (module docstring).
    This reaches into multiprocessing's private state, which is why it lives here, once."""
    from multiprocessing import forkserver

    server = forkserver._forkserver
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None:
        os.close(fd)
        server._forkserver_alive_fd = None
