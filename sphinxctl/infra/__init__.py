"""The platform's Kubernetes stack: render manifests/, lint them, apply them with server-side
apply (ordered, pruned, recorded as revisions), wait for readiness, diff, roll back, tear down.

Only `client.py` touches the `kubernetes` library, and only inside functions, so importing this
package stays cheap. The checklist reuses `lint_objects` and `render`.
"""

from sphinxctl.infra.lint import lint_objects
from sphinxctl.infra.models import LintFinding
from sphinxctl.infra.render import Sources, render, render_objects

__all__ = ["LintFinding", "Sources", "lint_objects", "render", "render_objects"]
