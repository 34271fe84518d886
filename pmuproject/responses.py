"""Fast JSON responses for large bodies (orjson; NaN and infinity become null)."""

import orjson
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, StreamingHttpResponse


def json_response(data, *, status=200):
    return HttpResponse(
        orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY),
        status=status,
        content_type="application/json",
    )


def json_list_stream(request, batches):
    """Stream a JSON list from an iterator of row batches.

    Memory holds one batch of rows at a time however long the list is. Under
    ASGI each batch is encoded in a worker thread so the event loop stays
    free; under WSGI the iterator is read directly.
    """
    chunks = _json_chunks(iter(batches))
    if isinstance(getattr(request, "_request", request), ASGIRequest):
        chunks = _in_threads(chunks)
    return StreamingHttpResponse(chunks, content_type="application/json")


def _json_chunks(batches):
    first = True
    for rows in batches:
        if rows:
            yield (b"[" if first else b",") + orjson.dumps(rows)[1:-1]
            first = False
    yield b"[]" if first else b"]"


_END = object()


async def _in_threads(chunks):
    step = sync_to_async(next, thread_sensitive=False)
    while (chunk := await step(chunks, _END)) is not _END:
        yield chunk
