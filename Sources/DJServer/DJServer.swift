// DJServer: the daemon behind `djd serve`.
//
//   Daemon/    `Daemon` (engine + scheduler + state store + Team Service/Manager + playlist queue + tokens),
//              its deck, status and task-handler extensions, metrics and the WebSocket event hub.
//   API/       the route table (`APIRoute`), the one error shape (`APIError`), the Hummingbird application
//              (`DJServerApp.buildApplication`, shared by `djd serve` and the tests), the WebSocket session
//              and the OpenAPI document built from the route table.
//   Routes/    the routes: /api/dj/*, /api/team/*, /api/manager/*, /metrics, /openapi.json.
//   Control/   `MixerControl`: API requests -> engine commands (the one path by which anything changes the sound).
//   Auth/      the bearer tokens.
//
// Thin by design (STYLE.md 12): a handler decodes and validates a request, makes one call into the daemon
// or DJCore, and encodes the answer; errors map to HTTP in one place (`APIError`).
