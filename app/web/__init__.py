"""What the screens (app.views) and the APIs (app.api) share: labels, periods, the caller, the data
interface and the verify answer. May import services, models and scoping; never app.views or app.api."""
