"""The batch runner on a real Dagster instance, with two small track assets ``a`` -> ``b``:
per-partition outcomes, provenance that Dagster's stale-status resolver reads, checks evaluated
in the step, which errors fail one track or the whole batch, and the same with ``a`` computed
by a batch hook (:attr:`~assets.track_batch.TrackStep.run_many`)."""

import warnings
from dataclasses import dataclass

import dagster as dg
import pytest

from assets.batches import range_tags
from assets.track_batch import fail_if_any, run_batch
from assets.track_step import PartitionFailed, StepResult, TrackCheck, TrackStep
from orchestration.staleness import out_of_date

PARTS = dg.DynamicPartitionsDefinition(name="t")
KEYS = ["g1", "bad", "g2", "buggy", "unsound"]


class Transient(Exception):
    pass


@dataclass
class Item:
    partition_key: str


def step_a(track: Item) -> StepResult:
    if track.partition_key == "bad":
        raise PartitionFailed("bad.wav: not an audio file")
    if track.partition_key == "buggy":
        raise ZeroDivisionError("division by zero")
    if track.partition_key == "flaky":
        raise Transient("network down")
    return StepResult(
        metadata={"n": len(track.partition_key)}, data_version=f"a-{track.partition_key}"
    )


def step_b(track: Item) -> StepResult:
    return StepResult(metadata={"from": track.partition_key})


def sound(track: Item) -> dg.AssetCheckResult:
    ok = track.partition_key != "unsound"
    return dg.AssetCheckResult(passed=ok, description=None if ok else "NaN in the stem")


def definitions(code_b: str = "1", hook=None) -> dg.Definitions:
    """Steps ``a`` (checked by ``a_sound``; computed by the batch ``hook`` when given) and
    ``b`` after it, as one batch multi-asset."""
    steps = [
        TrackStep("a", step_a, "1", "first", checks=(TrackCheck("a_sound", "sound", sound, True),),
                  run_many=hook),
        TrackStep("b", step_b, code_b, "second", deps=("a",)),
    ]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        @dg.multi_asset(
            specs=[s.spec(PARTS) for s in steps],
            check_specs=[c for s in steps for c in s.check_specs(PARTS)],
            partitions_def=PARTS,
            can_subset=True,
            backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=10),
        )
        def chain(context: dg.AssetExecutionContext):
            tracks = [Item(k) for k in context.partition_keys]
            fail_if_any(run_batch(context, steps, tracks, transient=(Transient,)))
            yield from ()

    job = dg.define_asset_job("j", selection=["a", "b"])
    return dg.Definitions(assets=[chain], jobs=[job])


@pytest.fixture
def instance(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as inst:
        inst.add_dynamic_partitions("t", [*KEYS, "flaky"])
        yield inst


def run(defs, instance, first, last):
    job = defs.resolve_job_def("j")
    return job.execute_in_process(
        instance=instance, tags=range_tags(first, last), raise_on_error=False
    )


def test_a_bad_track_fails_only_its_own_partition(instance):
    defs = definitions()
    result = run(defs, instance, "g1", "unsound")
    assert not result.success
    for asset in ("a", "b"):
        done = instance.get_materialized_partitions(dg.AssetKey(asset))
        # `unsound`'s a is materialised (its check failed after), its b is not
        assert done == ({"g1", "g2", "unsound"} if asset == "a" else {"g1", "g2"})
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert failure.description.startswith("3 track(s) failed: bad: a: bad.wav: not an audio file")
    failed = failure.metadata["failed"].value
    assert failed == {
        "bad": "a: bad.wav: not an audio file",
        "buggy": "a: ZeroDivisionError: division by zero",
        "unsound": "a_sound: NaN in the stem",
    }
    stale = out_of_date(instance, defs.resolve_asset_graph(), ["a", "b"], KEYS)
    assert stale["g1"] == {} and stale["g2"] == {}
    assert stale["bad"] == {"a": "failed", "b": "failed"}
    assert stale["unsound"] == {"b": "failed"}
    evaluations = {
        event.event_specific_data.partition: event.event_specific_data.passed
        for record in instance.get_records_for_run(result.run_id).records
        if (event := record.event_log_entry.dagster_event) is not None
        and event.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert evaluations == {"g1": True, "g2": True, "unsound": False}


def test_provenance_makes_code_and_data_versions_visible(instance):
    run(definitions(), instance, "g1", "g1")
    assert out_of_date(instance, definitions().resolve_asset_graph(), ["a", "b"], ["g1"]) == {
        "g1": {}
    }
    bumped = out_of_date(
        instance, definitions(code_b="2").resolve_asset_graph(), ["a", "b"], ["g1"]
    )
    assert bumped == {"g1": {"b": "b has a new code version"}}
    # a new data version of `a` (materialised alone) makes `b` stale by data version
    defs = definitions()
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "a",
            partition="g1",
            tags={"dagster/data_version": "a-g1-new", "dagster/code_version": "1"},
        )
    )
    stale = out_of_date(instance, defs.resolve_asset_graph(), ["a", "b"], ["g1"])
    assert "data version" in stale["g1"]["b"]


def test_a_transient_error_fails_the_whole_batch(instance):
    result = run(definitions(), instance, "unsound", "flaky")
    assert not result.success
    assert not instance.get_materialized_partitions(dg.AssetKey("b"))
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert "network down" in (error.cause.message if error.cause else error.message)


def batch_a_reversed(tracks):
    """Step a's batch hook: the tracks finish in reverse order, as a batch's tracks may."""
    for track in reversed(tracks):
        yield track, lambda track=track: step_a(track)


def batch_a_failing(tracks):
    """Step a's batch hook that computes the first two tracks, then fails as a whole."""
    for track in tracks[:2]:
        yield track, lambda track=track: step_a(track)
    if any(t.partition_key == "flaky" for t in tracks):
        raise Transient("network down")
    raise RuntimeError("the batch's model call failed")


def run_hooked(instance, hook, first, last):
    """Run ``a`` and ``b`` over ``first`` .. ``last`` with ``a`` computed by its batch
    ``hook``."""
    return run(definitions(hook=hook), instance, first, last)


def failed_tracks(result) -> dict[str, str]:
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    return failure.metadata["failed"].value


def test_a_batch_hook_keeps_every_tracks_own_outcome_in_any_order(instance):
    result = run_hooked(instance, batch_a_reversed, "g1", "unsound")
    assert not result.success
    assert instance.get_materialized_partitions(dg.AssetKey("a")) == {"g1", "g2", "unsound"}
    assert instance.get_materialized_partitions(dg.AssetKey("b")) == {"g1", "g2"}
    assert failed_tracks(result) == {
        "bad": "a: bad.wav: not an audio file",
        "buggy": "a: ZeroDivisionError: division by zero",
        "unsound": "a_sound: NaN in the stem",
    }


def test_a_failing_batch_hook_fails_the_tracks_it_did_not_compute(instance):
    result = run_hooked(instance, batch_a_failing, "g1", "g2")
    assert instance.get_materialized_partitions(dg.AssetKey("a")) == {"g1"}
    assert failed_tracks(result) == {
        "bad": "a: bad.wav: not an audio file",
        "g2": "a: RuntimeError: the batch's model call failed",
    }
    transient = run_hooked(instance, batch_a_failing, "buggy", "flaky")  # fails after 2
    assert not transient.success
    error = transient.get_step_failure_events()[0].step_failure_data.error
    assert "network down" in (error.cause.message if error.cause else error.message)
    assert instance.get_materialized_partitions(dg.AssetKey("b")) == {"g1"}


def test_after_a_batch_hook_each_track_goes_on_before_the_hook_computes_the_next(instance):
    # The hook is a generator: it computes its next track only when asked for it, so b of the
    # first track it hands back is recorded before a of the second (the stems of the next
    # tracks are separated while a track's features are computed).
    result = run_hooked(instance, batch_a_reversed, "g1", "g2")  # g1, bad, g2
    assert failed_tracks(result) == {"bad": "a: bad.wav: not an audio file"}
    order = [
        (event.asset_key.to_user_string(), event.partition)
        for record in instance.get_records_for_run(result.run_id).records
        if (event := record.event_log_entry.dagster_event) is not None
        and event.event_type_value == "ASSET_MATERIALIZATION"
    ]
    assert order == [("a", "g2"), ("b", "g2"), ("a", "g1"), ("b", "g1")]
