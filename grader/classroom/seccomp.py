"""A seccomp filter that keeps the sandbox's code from making a user namespace of its own.

In a user namespace of its own a learner's process is root again, with the kernel's whole
namespace code open to it. bubblewrap's ``--disable-userns`` prevents that only when bubblewrap
itself runs unprivileged; run as root (class grading on a server, Gradescope) it has nothing to
hold. This filter, handed to bubblewrap with ``--seccomp``, refuses ``unshare`` and ``clone`` with
``CLONE_NEWUSER`` in every case, as Flatpak's does. ``clone3`` is answered "not implemented", so
that the C library falls back to ``clone``, whose flags a filter can read.
"""

from __future__ import annotations

import errno
import os
import platform
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

CLONE_NEWUSER = 0x10000000
X32_SYSCALLS = 0x40000000  # x86-64's x32 numbering: refused whole, the course needs none of it
# The kernel's name of each architecture (AUDIT_ARCH_*) and its numbers for unshare, clone and clone3.
ARCHITECTURES = {
    "x86_64": (0xC000003E, {"unshare": 272, "clone": 56, "clone3": 435}),
    "aarch64": (0xC00000B7, {"unshare": 97, "clone": 220, "clone3": 435}),
}

# Classic BPF, as ``struct sock_filter``: opcode, jump if true, jump if false, constant.
LOAD_WORD, JUMP_EQUAL, JUMP_AT_LEAST, JUMP_ANY_BIT, RETURN = 0x20, 0x15, 0x35, 0x45, 0x06
ALLOW, ERRNO = 0x7FFF0000, 0x00050000
NUMBER_AT, ARCHITECTURE_AT, FIRST_ARGUMENT_AT = 0, 4, 16  # offsets in ``struct seccomp_data`` (little-endian)


def program(machine: str | None = None) -> bytes | None:
    """The compiled filter for ``machine`` (this one by default); ``None`` for an architecture it does not know."""
    known = ARCHITECTURES.get(machine or platform.machine())
    if known is None:
        return None
    architecture, numbers = known
    refuse, not_implemented = ERRNO | errno.EPERM, ERRNO | errno.ENOSYS
    instructions = [
        (LOAD_WORD, 0, 0, ARCHITECTURE_AT),
        (JUMP_EQUAL, 1, 0, architecture),
        (RETURN, 0, 0, refuse),  # another architecture's system calls, numbered otherwise
        (LOAD_WORD, 0, 0, NUMBER_AT),
        (JUMP_AT_LEAST, 0, 1, X32_SYSCALLS),
        (RETURN, 0, 0, refuse),
        (JUMP_EQUAL, 0, 1, numbers["clone3"]),
        (RETURN, 0, 0, not_implemented),
        (JUMP_EQUAL, 1, 0, numbers["unshare"]),
        (JUMP_EQUAL, 0, 3, numbers["clone"]),
        (LOAD_WORD, 0, 0, FIRST_ARGUMENT_AT),
        (JUMP_ANY_BIT, 0, 1, CLONE_NEWUSER),
        (RETURN, 0, 0, refuse),
        (RETURN, 0, 0, ALLOW),
    ]
    return b"".join(struct.pack("<HBBI", *instruction) for instruction in instructions)


@contextmanager
def no_user_namespaces() -> Iterator[tuple[list[str], tuple[int, ...]]]:
    """bubblewrap's arguments that load the filter, and the descriptor to pass it (none where the
    architecture is unknown: the sandbox then goes without)."""
    compiled = program()
    if compiled is None:
        yield [], ()
        return
    with tempfile.TemporaryFile() as stored:
        stored.write(compiled)
        stored.seek(0)
        descriptor = os.dup(stored.fileno())  # bubblewrap reads its own copy; this one closes after the start
        try:
            yield ["--seccomp", str(descriptor)], (descriptor,)
        finally:
            os.close(descriptor)
