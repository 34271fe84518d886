"""Alert rules and the alert history over HTTP: thin views over `history`."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import history, rules
from alerts.models import Alert, AlertRule
from alerts.serializers import AlertRuleSerializer, AlertSerializer
from measurements.params import pmu_id_param, single_param
from measurements.timeparse import TimeFormatError, now_ns, parse_time
from pmuproject.errors import InvalidParameter, NotFound
from pmuproject.permissions import ControlPermission

WRITE_ERRORS = {
    400: OpenApiResponse(
        description="A field is invalid: `parameter` names the first, "
        "`fields` lists every problem."
    ),
    403: OpenApiResponse(description="Writes need a user with the permission."),
}
NOT_FOUND = {404: OpenApiResponse(description="No such id.")}


def _checked(serializer):
    """Validate, or raise the service's 400 naming the first bad field."""
    if not serializer.is_valid():
        fields = {
            name: [str(message) for message in messages]
            if isinstance(messages, list)
            else [str(messages)]
            for name, messages in serializer.errors.items()
        }
        field, messages = next(iter(fields.items()))
        raise InvalidParameter(field, f"`{field}`: {messages[0]}", fields=fields)
    return serializer


def _rule(rule_id):
    rule = AlertRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(f"There is no alert rule {rule_id}.")
    return rule


class AlertRuleListView(APIView):
    permission_classes = [ControlPermission]
    required_permission = "alerts.add_alertrule"

    @extend_schema(summary="Every alert rule", responses=AlertRuleSerializer(many=True))
    def get(self, request):
        rules = AlertRule.objects.order_by("id")
        return Response(AlertRuleSerializer(rules, many=True).data)

    @extend_schema(
        summary="Create an alert rule",
        description=(
            "Limits are in the rule's unit: volts, amperes or hertz for "
            "`absolute`, per-unit of the PMU's registered nominal for `pu`."
        ),
        request=AlertRuleSerializer,
        responses={201: AlertRuleSerializer, **WRITE_ERRORS},
    )
    def post(self, request):
        rule = _checked(AlertRuleSerializer(data=request.data)).save()
        return Response(AlertRuleSerializer(rule).data, status=201)


class AlertRuleDetailView(APIView):
    permission_classes = [ControlPermission]

    def required_permission(self, request):
        action = "delete" if request.method == "DELETE" else "change"
        return f"alerts.{action}_alertrule"

    @extend_schema(
        summary="One alert rule", responses={200: AlertRuleSerializer, **NOT_FOUND}
    )
    def get(self, request, rule_id):
        return Response(AlertRuleSerializer(_rule(rule_id)).data)

    @extend_schema(
        summary="Replace an alert rule",
        request=AlertRuleSerializer,
        responses={200: AlertRuleSerializer, **WRITE_ERRORS, **NOT_FOUND},
    )
    def put(self, request, rule_id):
        serializer = AlertRuleSerializer(_rule(rule_id), data=request.data)
        return Response(AlertRuleSerializer(_checked(serializer).save()).data)

    @extend_schema(
        summary="Change some fields of an alert rule",
        request=AlertRuleSerializer,
        responses={200: AlertRuleSerializer, **WRITE_ERRORS, **NOT_FOUND},
    )
    def patch(self, request, rule_id):
        serializer = AlertRuleSerializer(
            _rule(rule_id), data=request.data, partial=True
        )
        return Response(AlertRuleSerializer(_checked(serializer).save()).data)

    @extend_schema(
        summary="Delete an alert rule",
        description="Its active alerts clear on the worker's next tick.",
        responses={204: None, **WRITE_ERRORS, **NOT_FOUND},
    )
    def delete(self, request, rule_id):
        _rule(rule_id).delete()
        return Response(status=204)


class AlertPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000


class AlertListView(APIView):
    @extend_schema(
        summary="The alert history, newest first",
        parameters=[
            OpenApiParameter(
                "active",
                OpenApiTypes.BOOL,
                description="true: only active alerts; false: only cleared ones.",
            ),
            OpenApiParameter("pmu", OpenApiTypes.STR, description="A PMU id."),
            OpenApiParameter(
                "severity", OpenApiTypes.STR, enum=["info", "warning", "critical"]
            ),
            OpenApiParameter(
                "start",
                OpenApiTypes.STR,
                description=(
                    "Alerts still active at or after this time: a duration back "
                    "from now (-1h) or an RFC 3339 time with a zone."
                ),
            ),
            OpenApiParameter(
                "stop",
                OpenApiTypes.STR,
                description="Alerts raised before this time; same forms as start.",
            ),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description="Page size (default 100)."
            ),
            OpenApiParameter("offset", OpenApiTypes.INT, description="Page start."),
        ],
        responses={
            200: inline_serializer(
                "AlertPage",
                {
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": AlertSerializer(many=True),
                },
            ),
            400: OpenApiResponse(description="A parameter is invalid."),
        },
    )
    def get(self, request):
        query = request.query_params
        for name in ("limit", "offset"):
            _count_param(query, name)
        start, stop = _time_param(query, "start"), _time_param(query, "stop")
        if start is not None and stop is not None and start >= stop:
            raise InvalidParameter(
                "start",
                "`start` must be earlier than `stop` (the range is [start, stop)).",
            )
        alerts = history.alert_history(
            active=_bool_param(query, "active"),
            pmu=pmu_id_param(query) if single_param(query, "pmu") else None,
            severity=_choice_param(query, "severity", list(rules.SEVERITIES)),
            start=start,
            stop=stop,
        )
        paginator = AlertPagination()
        page = paginator.paginate_queryset(alerts, request, view=self)
        return paginator.get_paginated_response(AlertSerializer(page, many=True).data)


class AlertAcknowledgeView(APIView):
    permission_classes = [ControlPermission]
    required_permission = "alerts.acknowledge_alert"

    @extend_schema(
        summary="Acknowledge an alert",
        description=(
            "Records who acknowledged the alert and when, and sends the alert "
            "(with `event: acknowledged`) to every /ws/alerts client. "
            "Acknowledging again keeps the first acknowledgement."
        ),
        request=None,
        responses={200: AlertSerializer, **WRITE_ERRORS, **NOT_FOUND},
    )
    def post(self, request, alert_id):
        try:
            body = history.acknowledge(alert_id, request.user)
        except Alert.DoesNotExist as exc:
            raise NotFound(f"There is no alert {alert_id}.") from exc
        return Response(body)


def _count_param(query, name):
    """Page size or start: a whole number, 0 or more (limit: 1 to 1000)."""
    value = single_param(query, name)
    if value is None or value == "":
        return
    low = 1 if name == "limit" else 0
    if not (value.isascii() and value.isdigit() and int(value) >= low):
        raise InvalidParameter(
            name, f"`{name}` must be a whole number of at least {low}."
        )


def _bool_param(query, name):
    value = single_param(query, name)
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise InvalidParameter(name, f"`{name}` must be true or false.")


def _choice_param(query, name, choices):
    value = single_param(query, name)
    if value is None or value == "":
        return None
    if value not in choices:
        raise InvalidParameter(
            name, f"`{name}` must be one of {', '.join(choices)}.", accepted=choices
        )
    return value


def _time_param(query, name):
    value = single_param(query, name)
    if value is None or value == "":
        return None
    try:
        return history.datetime_from_ns(parse_time(value, now=now_ns()))
    except TimeFormatError as exc:
        raise InvalidParameter(name, f"`{name}`: {exc}.") from exc
