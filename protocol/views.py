"""The protocol endpoints: thin views over `protocol.services`."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from pmuproject.errors import InvalidParameter
from pmuproject.permissions import ControlPermission
from protocol import services
from protocol.models import ProtocolChange

PROTOCOL = OpenApiParameter(
    "protocol",
    OpenApiTypes.STR,
    enum=list(services.PROTOCOLS),
    description=(
        "udp or tcp, in any case. Send it here, as the dashboard does, or as "
        'a JSON body {"protocol": "tcp"}.'
    ),
)
STATUS = {
    "protocol": "tcp",
    "changed_at": "2026-05-01T12:00:00.123Z",
    "changed_by": "operator",
    "via": "api",
    "problem": None,
}


class ProtocolChangeView(APIView):
    permission_classes = [ControlPermission]
    required_permission = services.CHANGE_PERMISSION
    # Form bodies too, whatever way the dashboard builds its request.
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        summary="Change the PMU stream transport protocol",
        description=(
            "Writes the protocol into config.ini, which the collector reads, "
            "and records the change. Needs a signed-in user (session or "
            "`Authorization: Token …`) with the `protocol.change_protocolsetting` "
            "permission, unless debug or PMU_ALLOW_ANONYMOUS_WRITES is on."
        ),
        parameters=[PROTOCOL],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                examples=[
                    OpenApiExample(
                        "changed",
                        {
                            "message": "Protocol changed to tcp",
                            "protocol": "tcp",
                            "previous": "udp",
                            "changed_at": "2026-05-01T12:00:00.123Z",
                            "changed_by": "operator",
                            "via": "api",
                        },
                    )
                ],
            ),
            400: OpenApiResponse(description="`protocol` is not udp or tcp."),
            403: OpenApiResponse(description="Not signed in, or no permission."),
            500: OpenApiResponse(description="config.ini is not valid INI."),
            503: OpenApiResponse(
                description="config.ini could not be locked, written or the "
                "change recorded; nothing was changed."
            ),
        },
    )
    def post(self, request):
        change = services.protocol_change(
            _protocol_param(request),
            user=request.user,
            via=ProtocolChange.Via.API,
        )
        return Response(
            {
                "message": f"Protocol changed to {change.to_protocol}",
                "protocol": change.to_protocol,
                "previous": change.from_protocol or None,
                "changed_at": change.changed_at,
                "changed_by": change.changed_by_name or None,
                "via": change.via,
            }
        )


class ProtocolView(APIView):
    permission_classes = [ControlPermission]

    @extend_schema(
        summary="The PMU stream transport protocol in effect",
        description=(
            "Read from config.ini on every call. `via` is api or admin for a "
            "recorded change, file when the file was edited by hand (then "
            "`changed_at` is the file's modification time), and default while "
            "the file names no protocol. `protocol` is null, with `problem` "
            "saying why, when the file holds something unusable."
        ),
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT, examples=[OpenApiExample("current", STATUS)]
            ),
            503: OpenApiResponse(description="config.ini cannot be read."),
        },
    )
    def get(self, request):
        return Response(services.protocol_status())


def _protocol_param(request):
    """The protocol from the query string or the body; both must agree."""
    sent = request.query_params.getlist("protocol")
    data = request.data
    if not isinstance(data, dict):
        raise InvalidParameter(
            "protocol",
            'The body must be a JSON object such as {"protocol": "tcp"}.',
            accepted=list(services.PROTOCOLS),
        )
    if "protocol" in data:
        sent.append(data["protocol"])

    if len(sent) > 1:
        parsed = {services.protocol_parse(value) for value in sent}
        if len(parsed) > 1:
            raise InvalidParameter(
                "protocol",
                "`protocol` was given more than once with different values.",
                accepted=list(services.PROTOCOLS),
            )
    return sent[0] if sent else None
