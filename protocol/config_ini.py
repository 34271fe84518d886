"""config.ini as text: where the protocol is, and how to change only that.

The collector reads config.ini with configparser, and configparser drops
every comment when it writes a file back. So a change here rewrites only the
lines that hold the protocol, keeps every other byte as it was, and checks
the result with configparser before anything is written.
"""

import configparser
import contextlib
import glob
import io
import os
import re
import stat
import tempfile
from dataclasses import dataclass

SECTION = "transport"
KEY = "protocol"
LEGACY_KEY = "protocol_used"

# Lines before the first section header are parsed as if they stood under
# this header, so the old one-line file is read by configparser's own rules.
# The NUL character keeps it apart from any section a person could write.
_PREAMBLE = "\0preamble"
# A name no file uses, so that a [DEFAULT] section is compared as written
# instead of being copied into every other section.
_NO_DEFAULTS = "\0defaults"

# The same line grammar as configparser with its default options: comments
# on their own line only, `=` or `:` between key and value, and values that
# continue on lines indented deeper than their key.
_HEADER = re.compile(r"\[(?P<name>.+)\]")
_OPTION = re.compile(r"(?P<name>.*?)\s*[=:]")
_NONSPACE = re.compile(r"\S")
_COMMENT_PREFIXES = ("#", ";")


class ConfigFormatError(ValueError):
    """The text is not an INI file that can be read or rewritten safely."""


@dataclass(frozen=True)
class FoundProtocol:
    value: str | None  # as written, stripped; None when the text has none
    legacy: bool  # the text has the old bare `protocol_used` line


@dataclass(frozen=True)
class _Line:
    text: str  # as written, line ending included
    kind: str  # "header", "option", "continuation" or "other"
    section: str  # the section the line is in; _PREAMBLE before the first
    key: str | None  # lower-cased key of an option or continuation line
    lead: str  # the whitespace before the line's first character


def protocol_find(text):
    """The protocol that `text` holds, as configparser reads it."""
    sections = _sections(text)
    preamble = sections[_PREAMBLE]
    legacy = LEGACY_KEY in preamble
    if SECTION in sections:
        # configparser falls back on [DEFAULT] for a key the section lacks.
        inherited = sections.get(configparser.DEFAULTSECT, {})
        value = sections[SECTION].get(KEY, inherited.get(KEY))
        if value is not None:
            return FoundProtocol(value=value, legacy=legacy)
    return FoundProtocol(value=preamble.get(LEGACY_KEY), legacy=legacy)


def text_with_protocol(text, protocol):
    """`text` with the protocol set under [transport], all else kept as is.

    The old bare `protocol_used` line, if any, is replaced by the section.
    Raises ConfigFormatError when the text is not valid INI, or when the
    change could not be made without altering any other value.
    """
    before = _sections(text)
    lines = _scan(text)
    newline = next((_ending(line.text) for line in lines if _ending(line.text)), "\n")
    key_line = f"{KEY} = {protocol}"

    out = []
    replaced = False
    legacy_at = legacy_ending = header_at = first_option_lead = None
    for line in lines:
        if line.section == _PREAMBLE and line.key == LEGACY_KEY:
            if line.kind == "option":
                legacy_at, legacy_ending = len(out), _ending(line.text) or newline
            continue
        if line.section == SECTION and line.key == KEY:
            # Continuation lines of the old value go with it.
            if line.kind == "option":
                out.append(line.lead + key_line + (_ending(line.text) or newline))
                replaced = True
            continue
        if line.kind == "header" and line.section == SECTION:
            header_at = len(out)
        elif (
            line.kind == "option"
            and line.section == SECTION
            and first_option_lead is None
        ):
            first_option_lead = line.lead
        out.append(line.text)

    if not replaced and header_at is not None:
        if not _ending(out[header_at]):
            out[header_at] += newline
        # The same indent as the section's first key, so that key is not
        # read as a continuation of this one.
        out.insert(header_at + 1, (first_option_lead or "") + key_line + newline)
    elif not replaced and legacy_at is not None:
        out.insert(legacy_at, f"[{SECTION}]{legacy_ending}{key_line}{legacy_ending}")
    elif not replaced:
        if out and not _ending(out[-1]):
            out[-1] += newline
        if out and out[-1].strip():
            out.append(newline)
        out.append(f"[{SECTION}]{newline}{key_line}{newline}")
    result = "".join(out)

    expected = {name: dict(values) for name, values in before.items()}
    expected[_PREAMBLE].pop(LEGACY_KEY, None)
    expected.setdefault(SECTION, {})[KEY] = protocol
    if _sections(result) != expected or _collector_reads(result) != protocol:
        raise ConfigFormatError(
            "the protocol could not be set without disturbing other lines"
        )
    return result


def file_write_atomic(path, data):
    """Replace the file at `path` with `data`; readers see the old or the new.

    The bytes go to a temporary file in the same folder, reach the disk, and
    only then take the old file's name, so a crash at any point leaves a
    whole file behind. The new file keeps the old one's permission bits.
    """
    folder, name = os.path.split(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        # Readable by a collector that runs as another user.
        mode = 0o644

    fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise

    _folder_sync(folder)


def temp_files_remove(path):
    """Remove temporary files that a crashed write left next to `path`.

    Only call this while holding the lock that every writer holds, so that
    no temporary file found can belong to a write still in progress.
    """
    folder, name = os.path.split(path)
    for temp in glob.glob(
        os.path.join(glob.escape(folder), f".{glob.escape(name)}.*.tmp")
    ):
        with contextlib.suppress(OSError):
            os.unlink(temp)


def _folder_sync(folder):
    # The rename is durable only once the folder's entry is on disk. Some
    # platforms and filesystems cannot sync a folder; the rename has still
    # happened there, so that is not a failure of the write.
    with contextlib.suppress(OSError):
        fd = os.open(folder or ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sections(text):
    """Every section's keys and values, the preamble's under _PREAMBLE."""
    parser = configparser.ConfigParser(interpolation=None, default_section=_NO_DEFAULTS)
    try:
        parser.read_file(_lines_of(f"[{_PREAMBLE}]\n{text}"), source="config.ini")
    except configparser.Error as exc:
        raise ConfigFormatError(_parse_error(exc)) from exc

    sections = {name: dict(parser[name]) for name in parser.sections()}
    stray = sorted(set(sections[_PREAMBLE]) - {LEGACY_KEY})
    if stray:
        raise ConfigFormatError(
            f"the key `{_clipped(stray[0])}` stands before the first [section], "
            f"where only the old `{LEGACY_KEY}` line may"
        )
    return sections


def _collector_reads(text):
    """The protocol as a collector with a default configparser reads it."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_file(_lines_of(text), source="config.ini")
    return parser.get(SECTION, KEY, fallback=None)


def _lines_of(text):
    # Universal newlines, as when the collector opens the file in text mode.
    return io.StringIO(text, newline=None)


def _parse_error(exc):
    # Line numbers count the synthetic preamble header; the file's own
    # numbering starts one line later.
    lineno = getattr(exc, "lineno", None)
    if lineno is None and getattr(exc, "errors", None):
        lineno = exc.errors[0][0]
    if isinstance(exc, configparser.DuplicateSectionError):
        what = f"repeats the section [{_clipped(exc.section)}]"
    elif isinstance(exc, configparser.DuplicateOptionError):
        what = f"repeats the key `{_clipped(exc.option)}` in its section"
    else:
        what = "is neither a [section], a `key = value` line nor a comment"
    where = f"line {lineno - 1}" if lineno else "a line"
    return f"config.ini is not a valid INI file: {where} {what}"


def _clipped(name, limit=40):
    name = str(name)
    return name if len(name) <= limit else name[:limit] + "..."


def _scan(text):
    """Each line of `text` with what configparser would make of it."""
    lines = []
    section, key, indent_level = _PREAMBLE, None, 0
    for raw in io.StringIO(text, newline="").readlines():
        value = raw.strip()
        if not value or value.startswith(_COMMENT_PREFIXES):
            lines.append(_Line(raw, "other", section, None, ""))
            continue

        lead = raw[: _NONSPACE.search(raw).start()]
        if key is not None and len(lead) > indent_level:
            lines.append(_Line(raw, "continuation", section, key, lead))
            continue

        indent_level = len(lead)
        header = _HEADER.match(value)
        option = None if header else _OPTION.match(value)
        if header:
            section, key, kind = header["name"], None, "header"
        elif option and option["name"]:
            key, kind = option["name"].rstrip().lower(), "option"
        else:
            kind = "other"
        lines.append(_Line(raw, kind, section, key if kind == "option" else None, lead))
    return lines


def _ending(line):
    for ending in ("\r\n", "\n", "\r"):
        if line.endswith(ending):
            return ending
    return ""
