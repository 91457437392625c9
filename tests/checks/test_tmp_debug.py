from tests.checks.conftest import by_id
def test_dbg(project, run):
    from tests.checks.test_service_items import _database
    _database(project / ".sphinxctl" / "local.db")
    r = run("local")
    for x in r.results:
        if x.id in ("INF-002","INF-003","BAK-004","BAK-001"): print(x.id, x.status, x.reason, x.duration_seconds)
    assert 0
