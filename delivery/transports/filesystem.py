"""Local file system delivery (BasicIntegrations.md): the result is written under a base folder
at the path its file-name template gives.

Writing is atomic: the bytes go to a hidden ``.<name>.<random>.part`` file in the target folder,
are fsynced, and the file is renamed into place (``os.replace``), then the folder is fsynced. A
reader never sees half a file, and a crash leaves at most a ``.part`` file behind.

Errors: a missing base folder is transient (a network share that is not mounted yet); no
permission, a read-only or full-name-too-long path, a base folder that is not a folder are
permanent; a full disk is transient.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

from pydantic import field_validator

from ..filenames import TemplateError, path_within, suffixed_names
from .base import DeliveryPayload, DeliveryReceipt, Transport, TransportError
from .naming import NamingFields, temporary_name

_PERMANENT_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENAMETOOLONG, errno.ENOTDIR,
                     errno.EISDIR, errno.EINVAL, errno.ELOOP}
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}


class FileSystemConfig(NamingFields):
    base_folder: str
    create_folders: bool = True

    @field_validator("base_folder")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not os.path.isabs(value):
            raise ValueError("the base folder must be an absolute path, e.g. /srv/results")
        return os.path.normpath(value)


class FileSystemTransport(Transport):
    kind = "file"
    label = "Local file system"
    delivery_type = "LocalFileSystem"
    config_model = FileSystemConfig

    def send(self, payload: DeliveryPayload) -> DeliveryReceipt:
        config: FileSystemConfig = self.config
        base = config.base_folder
        relative = config.file_name(payload)
        if not os.path.isdir(base):
            if os.path.exists(base):
                raise TransportError(f"the base folder {base} is not a folder", permanent=True)
            raise TransportError(f"the base folder {base} does not exist (is the share mounted?)")
        try:
            target = path_within(base, relative)
            folder = os.path.dirname(target)
            self._folder_ready(base, folder)
            final = _write_atomically(folder, os.path.basename(target), payload.content,
                                      replace=config.if_exists == "replace")
        except TemplateError as exc:
            raise TransportError(f"cannot name the file: {exc}", permanent=True) from None
        except OSError as exc:
            raise _os_error(exc, base) from None
        return self.receipt(final, remote_id=final)

    def _folder_ready(self, base: str, folder: str) -> None:
        if not os.path.isdir(folder):
            if not self.config.create_folders:
                raise TransportError(f"a folder of the file-name template does not exist under {base} and "
                                     "creating folders is off", permanent=True)
            os.makedirs(folder, exist_ok=True)
        # A symlink inside the base folder must not lead the file outside it.
        real_base = os.path.realpath(base)
        real_folder = os.path.realpath(folder)
        if os.path.commonpath([real_base, real_folder]) != real_base:
            raise TransportError(f"a folder of the file-name template links outside {base}", permanent=True)


def _write_atomically(folder: str, name: str, content: bytes, *, replace: bool) -> str:
    temporary = os.path.join(folder, temporary_name(name))
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        final = _move_into_place(temporary, os.path.join(folder, name), replace=replace)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    return final


def _move_into_place(temporary: str, target: str, *, replace: bool) -> str:
    if replace:
        os.replace(temporary, target)
        return target
    for candidate in suffixed_names(target):
        try:
            os.link(temporary, candidate)  # atomic, and fails instead of overwriting
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            if os.path.exists(candidate):  # a file system without hard links: check, then rename
                continue
            os.replace(temporary, candidate)
            return candidate
        os.unlink(temporary)
        return candidate
    raise TransportError("more than 1000 files with this name exist; choose a more specific template",
                         permanent=True)


def _fsync_folder(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _os_error(exc: OSError, base: str) -> TransportError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        return TransportError(f"no space left on the device of {base}")
    if exc.errno == errno.ENOENT:
        return TransportError(f"a folder under {base} disappeared while writing ({reason})")
    return TransportError(f"cannot write the result file under {base}: {reason}",
                          permanent=exc.errno in _PERMANENT_ERRNOS)
