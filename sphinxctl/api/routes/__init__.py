"""Route modules; each defines `router` (an APIRouter) mounted by the app factory."""
