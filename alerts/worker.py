"""The alert worker: one periodic loop that evaluates every rule on new samples.

Each tick reads what every PMU sent since the previous tick in one store
request, evaluates the enabled rules on the numpy columns (`alerts.rules`),
watches for PMUs that went silent, records raises and clears in the history
and publishes them to the WebSocket group.

State kept per (rule, PMU, phase) lives in memory; what a restarted worker
needs to carry on lives in the database: the active alerts (so nothing
active is raised again) and, per PMU, the time of the last evaluated sample
(so no sample is evaluated twice). A pending run that has not yet lasted
its rule's minimum duration is not kept, so a restart can delay such a
raise by up to that duration.
"""

import asyncio
import logging
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError

from alerts import broadcast, history, rules
from alerts.lease import AlwaysHeld
from measurements.gateway import get_store
from pmuproject.errors import StoreError

logger = logging.getLogger(__name__)

NS = 1_000_000_000
# Samples may reach the store this long after their timestamp (a collector
# writing in batches) and still be evaluated: each read reaches back this
# far, and the per-PMU cursor drops what was already seen.
LATE_DATA_S = 2.0
# After a restart or an outage the worker catches up on at most this much
# history; older samples are not evaluated.
MAX_CATCH_UP_S = 60.0
# Longest a PMU's cursor waits in memory before it is saved, on ticks that
# raise or clear nothing.
CURSOR_SAVE_S = 5.0
# Longest wait between retries while the store or the database fails.
MAX_BACKOFF_S = 10.0
# Longest a publish may take before its messages are given up.
PUBLISH_TIMEOUT_S = 10.0
STALE_SEVERITY = "warning"


@dataclass(frozen=True)
class RuleSpec:
    """An enabled rule as the worker evaluates it."""

    id: int
    name: str
    pmu: str | None
    quantity: str
    phases: tuple
    unit: str
    severity: str
    limits: rules.Limits

    def key(self, pmu, phase):
        return rule_key(self.id, self.quantity, self.unit, pmu, phase)

    def covers(self, pmu, phase):
        return (self.pmu is None or self.pmu == pmu) and phase in self.phases


def rule_key(rule_id, quantity, unit, pmu, phase):
    # "|" never occurs in a PMU id, so the key splits back into its parts.
    return f"rule|{rule_id}|{quantity}|{unit}|{pmu}|{phase or '-'}"


def stale_key(pmu):
    return f"stale|{pmu}"


def _rules_and_registry():
    from alerts.models import AlertRule
    from measurements.models import Pmu

    registry = {
        pmu: rules.Nominals(voltage, current, frequency)
        for pmu, voltage, current, frequency in Pmu.objects.values_list(
            "id", "nominal_voltage", "nominal_current", "nominal_frequency"
        )
    }
    specs = [
        RuleSpec(
            id=rule.id,
            name=rule.name,
            pmu=rule.pmu or None,
            quantity=rule.quantity,
            phases=rules.rule_phases(rule.quantity, rule.phase),
            unit=rule.unit,
            severity=rule.severity,
            limits=rules.Limits(
                rule.low,
                rule.high,
                rule.hysteresis or 0.0,
                round((rule.min_duration or 0.0) * NS),
                round((rule.clear_duration or 0.0) * NS),
            ),
        )
        for rule in AlertRule.objects.filter(enabled=True)
    ]
    return specs, registry


class AlertWorker:
    def __init__(
        self,
        *,
        store=None,
        lease=None,
        interval_s=None,
        stale_after_s=None,
        publish=broadcast.publish,
        clock=time.time_ns,
    ):
        self.store = store
        self.lease = lease or AlwaysHeld()
        self.interval_s = interval_s or settings.ALERT_WORKER_INTERVAL
        self.stale_after_s = stale_after_s or settings.ALERT_STALE_AFTER
        self.publish = publish
        self.clock = clock
        self.late_ns = round(max(LATE_DATA_S, 2 * self.interval_s) * NS)
        self.loaded = False
        self.tracks = {}
        self.cursors = {}
        self.unsaved = {}
        self.saved_at = float("-inf")
        self.read_from = None
        self.sight_from = None
        self._outage = None
        self._failures = 0
        self._no_nominal = set()

    # --- the loop ---------------------------------------------------------

    async def run(self, stop):
        """Tick every interval until `stop` (an asyncio.Event) is set."""
        logger.info("Alert worker running every %.3g s", self.interval_s)
        try:
            while not stop.is_set():
                started = time.monotonic()
                delay = self.interval_s
                try:
                    await self.tick()
                except StoreError as exc:
                    delay = self._failed("the measurement store", exc.detail)
                except DatabaseError as exc:
                    self.loaded = False
                    delay = self._failed("the database", exc)
                except Exception as exc:
                    # The worker must outlive anything a tick runs into.
                    self.loaded = False
                    delay = self._failed("an unexpected error", exc, trace=True)
                else:
                    self._recovered()
                delay = max(0.0, delay - (time.monotonic() - started))
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        finally:
            await self.lease.release()
            logger.info("Alert worker stopped")

    def _failed(self, what, reason, *, trace=False):
        self._failures += 1
        if self._outage is None:
            self._outage = time.monotonic()
            if trace:
                logger.error(
                    "Alert worker hit %s; retrying with back-off",
                    what,
                    exc_info=reason,
                )
            else:
                logger.warning(
                    "Alert worker paused: %s is unavailable (%s); retrying with "
                    "back-off",
                    what,
                    reason,
                )
        return min(self.interval_s * 2 ** min(self._failures, 16), MAX_BACKOFF_S)

    def _recovered(self):
        if self._outage is not None:
            logger.info(
                "Alert worker resumed after %.1f s",
                time.monotonic() - self._outage,
            )
            # Time spent blind does not count towards a PMU going stale.
            self.sight_from = self.clock()
        self._outage = None
        self._failures = 0

    # --- one tick ---------------------------------------------------------

    async def tick(self):
        """Evaluate everything new once; returns the alert objects published."""
        if not await self.lease.hold():
            self.loaded = False
            return []
        if not self.loaded:
            await self._load()
        specs, registry = await database_sync_to_async(_rules_and_registry)()

        now = self.clock()
        start = max(self.read_from, now - round(MAX_CATCH_UP_S * NS))
        store = self.store or get_store()
        recent = await sync_to_async(store.read_recent, thread_sensitive=False)(
            start_ns=start, stop_ns=now
        )

        fresh = self._fresh_samples(recent)
        transitions = self._evaluate_rules(specs, registry, fresh, now)
        transitions += self._evaluate_stale(set(registry) | set(fresh), fresh, now)
        moved = {pmu: int(samples.time[-1]) for pmu, samples in fresh.items()}

        # The lease may have passed on while the store answered.
        if not await self.lease.hold():
            self.loaded = False
            return []
        self.unsaved.update(moved)
        published = []
        # A PMU's cursor is saved with each of its transitions, and otherwise
        # every CURSOR_SAVE_S: a restart then re-reads at most that much of a
        # PMU's history, in which it had no transition to repeat.
        due = time.monotonic() - self.saved_at >= CURSOR_SAVE_S
        if transitions or due:
            changed = {transition.pmu for transition in transitions}
            saving = {
                pmu: last for pmu, last in self.unsaved.items() if due or pmu in changed
            }
            published = await database_sync_to_async(history.record_transitions)(
                transitions, saving
            )
            for pmu in saving:
                del self.unsaved[pmu]
            if due:
                self.saved_at = time.monotonic()
        self.cursors.update(moved)
        self.read_from = now - self.late_ns
        if published:
            await self._publish(published)
        return published

    async def _load(self):
        active, cursors = await database_sync_to_async(history.worker_state)()
        self.tracks = {
            key: rules.Track(
                active=True,
                side="low" if alert.value < alert.limit else "high",
                worst=alert.worst,
            )
            for key, alert in active.items()
        }
        self.cursors = cursors
        self.unsaved = {}
        now = self.clock()
        self.sight_from = now
        self.read_from = min(cursors.values(), default=now - self.late_ns)
        self.loaded = True
        logger.info(
            "Alert worker state loaded: %d active alerts, %d PMUs",
            len(active),
            len(cursors),
        )

    async def _publish(self, published):
        try:
            await asyncio.wait_for(self.publish(published), PUBLISH_TIMEOUT_S)
        except Exception as exc:
            # The history holds them and clients get the active ones on
            # connect, so a lost publish is logged rather than retried.
            logger.warning(
                "Alert worker could not publish %d alert messages: %r",
                len(published),
                exc,
            )

    def _fresh_samples(self, recent):
        fresh = {}
        for pmu, samples in recent.items():
            last = self.cursors.get(pmu)
            if last is not None and len(samples) and samples.time[0] <= last:
                samples = samples.take(samples.time > last)
            if len(samples):
                fresh[pmu] = samples
        return fresh

    def _evaluate_rules(self, specs, registry, fresh, now):
        transitions = []
        by_id = {spec.id: spec for spec in specs}
        joined = _JoinedQuantities(fresh)
        for spec in specs:
            # Per PMU, the factor that turns the quantity into the rule's
            # unit: 1 for absolute limits, 1/nominal for per-unit ones, NaN
            # where the rule does not apply.
            scale = np.full(len(joined.pmus), np.nan)
            for index, pmu in enumerate(joined.pmus):
                if spec.pmu is not None and spec.pmu != pmu:
                    continue
                if spec.unit != rules.PER_UNIT:
                    scale[index] = 1.0
                    continue
                entry = registry.get(pmu)
                nominal = entry.of(spec.quantity) if entry else None
                if nominal:
                    scale[index] = 1.0 / nominal
                else:
                    self._warn_no_nominal(spec, pmu)
            applies = np.flatnonzero(np.isfinite(scale))
            if not len(applies):
                continue
            for phase in spec.phases:
                values = joined.values(spec.quantity, phase) * joined.per_sample(scale)
                # One comparison over every PMU's samples finds the few
                # (rule, PMU, phase) that need the full evaluation: those
                # outside the limits somewhere, or already pending or active.
                flagged = joined.any_per_pmu(_outside(values, spec.limits))
                has_data = joined.any_per_pmu(np.isfinite(values))
                for index in applies.tolist():
                    pmu = joined.pmus[index]
                    if not has_data[index]:
                        self._warn_no_data(spec, pmu)
                    track = self.tracks.get(spec.key(pmu, phase))
                    idle = track is None or not (track.active or track.pending_since)
                    if idle and not flagged[index]:
                        continue
                    transitions += self._track(
                        spec, pmu, phase, fresh[pmu].time, joined.part(values, index)
                    )

        # Alerts whose rule was disabled, deleted or retargeted clear now.
        for key, track in list(self.tracks.items()):
            kind, *parts = key.split("|")
            if kind != "rule":
                continue
            rule_id, quantity, unit, pmu, phase = parts
            phase = None if phase == "-" else phase
            spec = by_id.get(int(rule_id))
            still = (
                spec is not None
                and spec.quantity == quantity
                and spec.unit == unit
                and spec.covers(pmu, phase)
            )
            if still:
                continue
            if track.active:
                transitions.append(
                    self._transition(
                        spec,
                        key,
                        pmu,
                        phase,
                        quantity,
                        unit,
                        rules.Change(
                            history.CLEARED, now, track.worst, 0.0, track.worst
                        ),
                    )
                )
            del self.tracks[key]
        return transitions

    def _track(self, spec, pmu, phase, times, values):
        key = spec.key(pmu, phase)
        track = self.tracks.setdefault(key, rules.Track())
        worst_before = track.worst
        changes = rules.track_samples(track, times, values, spec.limits)
        transitions = [
            self._transition(spec, key, pmu, phase, spec.quantity, spec.unit, change)
            for change in changes
        ]
        known = changes[-1].worst if changes else worst_before
        if track.active and track.worst != known:
            transitions.append(
                self._transition(
                    spec,
                    key,
                    pmu,
                    phase,
                    spec.quantity,
                    spec.unit,
                    rules.Change(
                        history.WORSE, int(times[-1]), track.worst, 0.0, track.worst
                    ),
                )
            )
        return transitions

    def _transition(self, spec, key, pmu, phase, quantity, unit, change):
        return history.Transition(
            key=key,
            state=change.state,
            time_ns=change.time_ns,
            value=change.value,
            limit=change.limit,
            worst=change.worst,
            pmu=pmu,
            quantity=quantity,
            phase=phase,
            severity=spec.severity if spec else STALE_SEVERITY,
            unit=rules.unit_symbol(quantity, unit),
            rule_id=spec.id if spec else None,
            rule_name=spec.name if spec else "",
        )

    def _evaluate_stale(self, expected, fresh, now):
        """Raise "stale" for PMUs silent for longer than the stale time.

        Watched are the PMUs the worker has heard from (its cursors) and
        every registered PMU, whether or not it ever sent anything.
        """
        transitions = []
        limit_s = self.stale_after_s
        for pmu in sorted(set(self.cursors) | expected):
            key = stale_key(pmu)
            track = self.tracks.setdefault(key, rules.Track())
            last = self.cursors.get(pmu)
            silent_from = max(last or self.sight_from, self.sight_from)
            samples = fresh.get(pmu)
            if samples is not None:
                if track.active:
                    first = int(samples.time[0])
                    gap_s = max(0.0, (first - (last or first)) / NS)
                    # The worst is the longest silence seen while active,
                    # never less than what was reported at the raise.
                    worst = max(gap_s, track.worst or 0.0, limit_s)
                    transitions.append(
                        self._stale_transition(
                            pmu, history.CLEARED, first, gap_s, worst
                        )
                    )
                    track.active, track.worst = False, None
                continue
            silence_s = (now - silent_from) / NS
            if track.active:
                track.worst = max(track.worst or 0.0, silence_s)
            elif silence_s > limit_s:
                track.active, track.worst = True, silence_s
                transitions.append(
                    self._stale_transition(
                        pmu,
                        history.RAISED,
                        silent_from + round(limit_s * NS),
                        silence_s,
                        silence_s,
                    )
                )
        return transitions

    def _stale_transition(self, pmu, state, time_ns, value, worst):
        return history.Transition(
            key=stale_key(pmu),
            state=state,
            time_ns=time_ns,
            value=value,
            limit=self.stale_after_s,
            worst=worst,
            pmu=pmu,
            quantity="stale",
            phase=None,
            severity=STALE_SEVERITY,
            unit="s",
        )

    def _warn_no_data(self, spec, pmu):
        # A frequency rule on a PMU that sends no frequency would otherwise
        # look armed while it can never fire.
        if (spec.id, pmu, "data") not in self._no_nominal:
            self._no_nominal.add((spec.id, pmu, "data"))
            logger.warning(
                "Rule %s (%s) watches %s, which PMU %s does not send; it cannot "
                "fire for that PMU",
                spec.id,
                spec.name,
                spec.quantity,
                pmu,
            )

    def _warn_no_nominal(self, spec, pmu):
        if (spec.id, pmu) not in self._no_nominal:
            self._no_nominal.add((spec.id, pmu))
            logger.warning(
                "Rule %s (%s) is per-unit but PMU %s has no nominal %s; skipped",
                spec.id,
                spec.name,
                pmu,
                spec.quantity,
            )


class _JoinedQuantities:
    """The fresh samples of every PMU joined end to end, for whole-tick numpy.

    Each quantity is computed once per tick in one pass over all PMUs; a
    PMU's part of a joined array is a view.
    """

    def __init__(self, fresh):
        self.pmus = list(fresh)
        self.fresh = fresh
        self.lengths = np.array([len(fresh[pmu]) for pmu in self.pmus], dtype=np.int64)
        self.ends = np.cumsum(self.lengths)
        self.starts = self.ends - self.lengths
        self._joined = None
        self._values = {}

    def values(self, quantity, phase):
        key = (quantity, phase)
        if key not in self._values:
            if self._joined is None:
                names = self.fresh[self.pmus[0]].columns
                self._joined = SimpleNamespace(
                    columns={
                        name: np.concatenate(
                            [self.fresh[pmu].columns[name] for pmu in self.pmus]
                        )
                        for name in names
                    }
                )
            self._values[key] = rules.quantity_values(self._joined, quantity, phase)
        return self._values[key]

    def per_sample(self, per_pmu):
        return np.repeat(per_pmu, self.lengths)

    def any_per_pmu(self, flags):
        counts = np.add.reduceat(flags.astype(np.int64), self.starts)
        # reduceat gives the element at a start for an empty part: mask it.
        return (counts > 0) & (self.lengths > 0)

    def part(self, values, index):
        return values[self.starts[index] : self.ends[index]]


def _outside(values, limits):
    """Whether each value lies outside the limits (NaN: no)."""
    outside = np.zeros(len(values), dtype=bool)
    if limits.low is not None:
        outside |= values < limits.low
    if limits.high is not None:
        outside |= values > limits.high
    return outside


def start_in_thread():
    """Run a worker in a daemon thread of this process, with its own loop."""
    worker = AlertWorker()
    thread = threading.Thread(
        target=lambda: asyncio.run(worker.run(asyncio.Event())),
        name="alert-worker",
        daemon=True,
    )
    thread.start()
    return thread
