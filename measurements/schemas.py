"""Response shapes of the read endpoints, for the OpenAPI document only.

The views build their JSON directly from numpy columns; these serializers
describe that JSON and are never used to produce it.
"""

from rest_framework import serializers

from measurements.power import ANGLES
from measurements.readings import DATA_COLUMNS, TIMESERIES_KEYS


def _floats(names, help_text):
    return {name: serializers.FloatField(help_text=help_text(name)) for name in names}


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="Stable error code.")
    detail = serializers.CharField(help_text="What went wrong, in a sentence.")
    parameter = serializers.CharField(
        required=False, help_text="The query parameter at fault, for a 400."
    )


class PmuListSerializer(serializers.Serializer):
    pmus = serializers.ListField(child=serializers.CharField())


PowerWindowSerializer = type(
    "PowerWindowSerializer",
    (serializers.Serializer,),
    {
        "time": serializers.CharField(help_text="Window end, RFC 3339 UTC."),
        **_floats(
            TIMESERIES_KEYS,
            lambda name: (
                "Power factor P/|S|."
                if name.startswith("PF")
                else f"Window mean {name}."
            ),
        ),
    },
)

PowerOfPhaseSerializer = type(
    "PowerOfPhaseSerializer",
    (serializers.Serializer,),
    {
        "pmu_id": serializers.CharField(),
        "phasor": serializers.CharField(),
        "time": serializers.CharField(help_text="End of the one-second window."),
        "samples": serializers.IntegerField(help_text="Samples in the window."),
        **_floats(ANGLES, lambda name: "Circular mean angle, degrees (-180, 180]."),
        **_floats(("V", "I", "S", "P", "Q", "PF"), lambda name: f"Phase {name}."),
        "phi_deg": serializers.FloatField(
            help_text="Angle by which the current lags the voltage, atan2(Q, P)."
        ),
    },
)

SampleSerializer = type(
    "SampleSerializer",
    (serializers.Serializer,),
    {
        "time": serializers.CharField(help_text="RFC 3339 UTC, nanoseconds."),
        **_floats(
            (key for key, _ in DATA_COLUMNS),
            lambda name: (
                "Angle, degrees (-180, 180]."
                if name.endswith("_ang")
                else "RMS magnitude."
            ),
        ),
        "pmu_id": serializers.CharField(),
    },
)
