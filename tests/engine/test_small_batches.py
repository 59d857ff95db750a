"""The column-wise filter still matches the reference validator on small batches.

A batch of at most ``ENGINE_ROWS`` records goes to the per-record engine alone (the filter's
fixed cost per batch is larger than the engine's on a few records), so the differential tests
of ``test_differential``, whose batches are small, now hold that path to the reference. These
run the same comparisons with the limit at 0, so the filter, which every larger batch uses, is
held to the reference on the same records.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import gateway.engine.records as records
from gateway.readers.columnwise import CompiledFilter
from tests.engine import test_differential as differential


@pytest.fixture(autouse=True, scope="module")
def _filter_always() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(records, "ENGINE_ROWS", 0)
        yield


test_example_corpus_through_the_filter = differential.test_example_corpus_matches_reference
test_generated_records_through_the_filter = differential.test_generated_records_match_reference
test_mutated_rows_through_the_filter = differential.test_mutated_valid_rows_match_reference


def test_a_small_batch_is_judged_without_the_filter() -> None:
    """With the usual limit, a ten-record batch never reaches the filter."""
    path = (differential.ROOT / "plugins/clinic/mncm/examples/2015/odc/patient/valid/"
            "odc-patient-full.csv")
    found = differential._layer_for(path)
    assert found is not None
    layer, document = found
    batch = next(document.batches(1000))
    batch = batch.where(np.arange(len(batch)) < 10)
    assert layer.filter is not None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(records, "ENGINE_ROWS", 100)
        patch.setattr(CompiledFilter, "suspect", _refuse)
        bad, findings = layer.judge(batch)
    assert len(bad) == 10
    assert not findings


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("the filter was asked about a small batch")
