"""Mask secrets in text and log records: account keys, SAS signatures, SharedKey signatures, bearer tokens.

azure-data-tables logs every header, ``Authorization`` included, at DEBUG, and 403 error bodies carry the
request's MAC signature and the server's "string to sign" (reliability.md §4.1). Everything that may reach a log
goes through :func:`redact`; pure, no I/O.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "SecretMaskingFilter", "redact"]

MASK = "***"

# A value runs until a separator of the surrounding syntax: connection strings (;), URLs (& #), quotes, XML (<).
_VALUE = r"""[^;&#\s'"<>]+"""

# (pattern, replacement) in order: a SharedAccessSignature value contains a sig=, so the wider rule runs first.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(SharedAccessSignature\s*=\s*)[^;\s'\"<>]+", re.IGNORECASE), rf"\g<1>{MASK}"),
    (re.compile(rf"(AccountKey\s*=\s*){_VALUE}", re.IGNORECASE), rf"\g<1>{MASK}"),
    (re.compile(rf"(?<![A-Za-z0-9_])(sig=){_VALUE}", re.IGNORECASE), rf"\g<1>{MASK}"),
    # The same inside a URL-encoded URL (e.g. a copy source): the value ends at an encoded '&' (%26).
    (
        re.compile(r"(?:(?<=%26)|(?<=%3F)|(?<![A-Za-z0-9_]))(sig%3D)(?:(?!%26)[^;&#\s'\"<>])+", re.IGNORECASE),
        rf"\g<1>{MASK}",
    ),
    # Authorization: SharedKey account:signature (also SharedKeyLite); the account name is no secret.
    (re.compile(r"(SharedKey(?:Lite)?\s+[^:\s'\"]+:)[^\s'\",;<>]+"), rf"\g<1>{MASK}"),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE), rf"\g<1>{MASK}"),
    # The management server's ?token= (a request line or URL someone logs).
    (re.compile(rf"(?<![A-Za-z0-9_%])(token=){_VALUE}", re.IGNORECASE), rf"\g<1>{MASK}"),
    # 403 AuthenticationErrorDetail: "The MAC signature found in the HTTP request '<sig>' is not the same ...".
    (re.compile(r"(MAC signature found in the HTTP request ')[^']*"), rf"\g<1>{MASK}"),
    # "... Server used following string to sign: '<multi-line text>'." The text may hold quotes of its own (table
    # keys: PartitionKey='a'), so it ends at a quote followed by an optional '.' and then a space, the end, '<'
    # (XML), '"' (JSON) or '\' (an escaped newline); without such a quote the rest of the text is masked.
    (
        re.compile(r"(string to sign: ')(?:.*?(?='\.?(?:[\s<\"\\]|$))|.*)", re.DOTALL | re.IGNORECASE),
        rf"\g<1>{MASK}",
    ),
)


def redact(text: str) -> str:
    """``text`` with every secret we know the shape of replaced by ``***``.

    Masks ``AccountKey=`` and ``SharedAccessSignature=`` values, ``sig=`` query values (plain or URL-encoded),
    ``SharedKey account:signature``, ``Bearer`` tokens, and the MAC signature and "string to sign" of a 403
    error detail. Applying it twice changes nothing more.

    Args:
        text: a log message, exception message or URL.

    Returns:
        The masked text.
    """
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class SecretMaskingFilter(logging.Filter):
    """A logging filter that masks secrets in each record's message, exception text and stack; drops nothing.

    The message is formatted with its args and then masked, so a secret inside an argument (a header dict,
    a request object) is masked too; the record keeps no args afterwards. An exception is formatted into
    ``exc_text`` and masked, and ``exc_info`` cleared, so no formatter can render the raw exception again.

    Python consults a logger's filters only for records logged on that very logger, not for records propagating
    from its children, so the storage layer attaches it to every ``azure.*`` logger the SDKs have created
    (``_storage/account.py``); applications may also attach it to their handlers.

    Args:
        secrets: values to mask wherever they appear, besides the shapes :func:`redact` knows (the management
            server's token); each also in its URL-encoded forms.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Each known secret also as a URL's query would carry it; longest first, so no prefix masks half of one.
        forms = {form for secret in secrets if secret for form in (secret, quote(secret, safe=""), quote_plus(secret))}
        self._secrets = sorted(forms, key=len, reverse=True)

    def mask(self, text: str) -> str:
        """``text`` with the known secrets and every secret of a known shape masked."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask ``record`` in place; always True (the record is kept)."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            # A message that does not format would be printed raw, args and all, by Handler.handleError.
            message = f"{record.msg} {record.args}"
        record.msg = self.mask(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True
