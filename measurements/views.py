"""The dashboard's read endpoints: thin views over `measurements.readings`."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from measurements import readings
from measurements.gateway import get_store
from measurements.params import (
    duration_param,
    phasor_param,
    pmu_id_param,
    time_range_param,
)
from measurements.schemas import (
    ErrorSerializer,
    PmuListSerializer,
    PowerOfPhaseSerializer,
    PowerWindowSerializer,
    SampleSerializer,
)
from measurements.timeparse import now_ns
from pmuproject.responses import json_list_stream, json_response

PMU = OpenApiParameter(
    "pmu",
    OpenApiTypes.STR,
    required=True,
    description="PMU id, as listed by /api/getpmus (letters, digits, _ . : -).",
)
START = OpenApiParameter(
    "start",
    OpenApiTypes.STR,
    default="-1h",
    description=(
        "Start of the range, included: a duration back from now (-1h, -15m, "
        "-500ms, -7d) or an RFC 3339 time with a zone "
        "(2024-05-01T12:00:00.123456789Z)."
    ),
)
STOP = OpenApiParameter(
    "stop",
    OpenApiTypes.STR,
    description="End of the range, excluded; same forms as start. Default: now.",
)
WINDOW = OpenApiParameter(
    "window",
    OpenApiTypes.STR,
    default="10s",
    description=(
        "Aggregation window, a positive duration (100ms, 10s, 1m). Windows "
        "are aligned to the Unix epoch and labelled with their end."
    ),
)
ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer,
        description=(
            "A parameter is invalid (`parameter` names it), or the answer "
            "would exceed PMU_MAX_ROWS (`too_many_rows`, with `limit` and "
            "`smallest_window`)."
        ),
    ),
    503: OpenApiResponse(
        ErrorSerializer, description="The measurement store is unavailable."
    ),
}


class PmuListView(APIView):
    @extend_schema(
        summary="PMUs with data",
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.STR,
                description="Only PMUs heard from within this duration (5m, 1h).",
            )
        ],
        responses={200: PmuListSerializer, **ERRORS},
    )
    def get(self, request):
        since = duration_param(request.query_params, "since")
        since_ns = None if since is None else now_ns() - since
        return json_response(readings.pmus_list(since_ns=since_ns))


class PowerTimeseriesView(APIView):
    @extend_schema(
        summary="Windowed power per phase and in total",
        description=(
            "One object per window with data: mean V and I, mean per-sample P, "
            "Q and |S| per phase, PF = P/|S|, and totals P, Q, S, PF."
        ),
        parameters=[PMU, START, STOP, WINDOW],
        responses={200: PowerWindowSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        query = request.query_params
        pmu_id = pmu_id_param(query)
        time_range = time_range_param(query)
        window_ns = duration_param(query, "window", "10s")
        rows = readings.power_timeseries(pmu_id, time_range, window_ns)
        return json_list_stream(request, rows)


class PowerOfPhaseView(APIView):
    @extend_schema(
        summary="Power of one phase over the latest second",
        description=(
            "Figures for the most recent epoch-aligned one-second window with "
            "data in the range, computed as one window of /api/power_timeseries."
        ),
        parameters=[
            PMU,
            OpenApiParameter(
                "phasor",
                OpenApiTypes.STR,
                required=True,
                enum=["a", "b", "c"],
                description="The phase: a, b or c (case-insensitive).",
            ),
            START,
            STOP,
        ],
        responses={
            200: PowerOfPhaseSerializer,
            404: OpenApiResponse(
                ErrorSerializer, description="No data for the PMU in the range."
            ),
            **ERRORS,
        },
    )
    def get(self, request):
        query = request.query_params
        pmu_id = pmu_id_param(query)
        phasor = phasor_param(query)
        time_range = time_range_param(query)
        return json_response(readings.power_of_phase(pmu_id, phasor, time_range))


class SamplesView(APIView):
    @extend_schema(
        summary="Samples at full resolution",
        description=(
            "Magnitudes (v_a … i_c) and angles wrapped to (-180, 180] for every "
            "sample in [start, stop). An unknown PMU gives []."
        ),
        parameters=[PMU, START, STOP],
        responses={200: SampleSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        query = request.query_params
        pmu_id = pmu_id_param(query)
        time_range = time_range_param(query)
        return json_list_stream(request, readings.samples_rows(pmu_id, time_range))


class HealthView(APIView):
    @extend_schema(
        summary="Whether the measurement store answers, and how fast",
        responses={200: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        health = get_store().health()
        return json_response(health, status=200 if health["ok"] else 503)
