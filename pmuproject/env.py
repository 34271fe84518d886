"""Typed readers for settings that come from the process environment.

An empty value counts as unset, so a copied `.env.example` with blank lines
keeps every default.
"""

import math
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name, default=None):
    value = os.environ.get(name)
    return default if value is None else value.strip()


def env_required(name, reason):
    value = env_str(name, "")
    if not value:
        raise ImproperlyConfigured(f"The setting {name} is required {reason}.")
    return value


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"The setting {name} must be one of 1/0, true/false, yes/no, on/off; "
        f"got {value!r}."
    )


def env_number(name, default, *, kind=int, minimum=None, maximum=None):
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    what = "a whole number" if kind is int else "a number"
    try:
        number = kind(value.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"The setting {name} must be {what}; got {value!r}."
        ) from exc
    if not math.isfinite(number):
        raise ImproperlyConfigured(f"The setting {name} must be finite; got {value!r}.")
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(
            f"The setting {name} must be at least {minimum}; got {number}."
        )
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(
            f"The setting {name} must be at most {maximum}; got {number}."
        )
    return number


def env_list(name, default=()):
    value = os.environ.get(name)
    if value is None or not value.strip():
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]
