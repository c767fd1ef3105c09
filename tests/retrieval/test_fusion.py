from kbassist.retrieval.fusion import reciprocal_rank_fusion


def test_items_found_by_both_retrievers_rise():
    fused = reciprocal_rank_fusion({"bm25": ["a", "b", "c"], "dense": ["c", "d", "a"]}, k=60)
    assert [item for item, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == 1 / 61 + 1 / 63


def test_weights_and_deterministic_ties():
    fused = reciprocal_rank_fusion({"bm25": ["a"], "dense": ["b"]}, k=60, weights={"bm25": 1.0, "dense": 2.0})
    assert [item for item, _ in fused] == ["b", "a"]
    tie = reciprocal_rank_fusion({"bm25": ["a", "b"], "dense": ["b", "a"]}, k=60)
    assert [item for item, _ in tie] == ["a", "b"]
