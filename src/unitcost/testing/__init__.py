"""Instruments for load and fault injection. Not upstreams: nothing here is a model."""

from unitcost.testing.fake_upstream import FakeUpstream, FakeUpstreamBehaviour

__all__ = ["FakeUpstream", "FakeUpstreamBehaviour"]
