import DJCore
import Foundation
import Metrics
import Prometheus
import Synchronization

/// The daemon's metrics, through swift-metrics with a Prometheus backend (`GET /metrics`).
///
/// The backend is process-wide (swift-metrics is bootstrapped once); the Team Service records its task
/// metrics through the same system. The engine's figures are sampled from the scheduler by the control
/// loop (`sample`): period render time (last / mean / max, and load quantiles from the audio thread's
/// histogram), xruns, periods, command queue depth.
public final class DaemonMetrics: Sendable {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100),
            .milliseconds(500), .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(1800),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    private let renderLast = Metrics.Gauge(label: "djcore_period_render_seconds", dimensions: [("stat", "last")])
    private let renderMean = Metrics.Gauge(label: "djcore_period_render_seconds", dimensions: [("stat", "mean")])
    private let renderMax = Metrics.Gauge(label: "djcore_period_render_seconds", dimensions: [("stat", "max")])
    private let load50 = Metrics.Gauge(label: "djcore_period_load_ratio", dimensions: [("quantile", "0.5")])
    private let load99 = Metrics.Gauge(label: "djcore_period_load_ratio", dimensions: [("quantile", "0.99")])
    private let periodSeconds = Metrics.Gauge(label: "djcore_period_seconds")
    private let xruns = Metrics.Counter(label: "djcore_xruns_total")
    private let periods = Metrics.Counter(label: "djcore_periods_total")
    private let deviceFailures = Metrics.Counter(label: "djcore_device_failures_total")
    private let queueDepth = Metrics.Gauge(label: "djcore_command_queue_depth")
    private let wsClients = Metrics.Gauge(label: "djcore_websocket_clients")
    private let requests: Mutex<[String: Metrics.Counter]> = Mutex([:])
    private let last = Mutex((xruns: UInt64(0), periods: UInt64(0), failures: 0))

    public init() {
        _ = Self.registry
    }

    /// Samples the engine and scheduler (called by the control loop about once a second).
    public func sample(engine: Engine, scheduler: AudioScheduler, webSocketClients: Int) {
        let st = scheduler.stats
        renderLast.record(st.renderLast)
        renderMean.record(st.renderMean)
        renderMax.record(st.renderMax)
        load50.record(st.loadPercentile(0.5))
        load99.record(st.loadPercentile(0.99))
        periodSeconds.record(st.periodSeconds)
        queueDepth.record(engine.queueDepth)
        wsClients.record(webSocketClients)
        let (dx, dp, df) = last.withLock { l -> (UInt64, UInt64, Int) in
            let d = (st.underruns &- l.xruns, st.periods &- l.periods, st.deviceFailures - l.failures)
            l = (st.underruns, st.periods, st.deviceFailures)
            return d
        }
        if dx > 0 { xruns.increment(by: Int64(dx)) }
        if dp > 0 { periods.increment(by: Int64(dp)) }
        if df > 0 { deviceFailures.increment(by: Int64(df)) }
    }

    /// Counts an API call by route pattern and status class.
    public func countRequest(route: String, method: String, status: Int) {
        let key = "\(method) \(route) \(status / 100)xx"
        let c = requests.withLock { r -> Metrics.Counter in
            if let c = r[key] { return c }
            let c = Metrics.Counter(label: "djcore_api_requests_total",
                            dimensions: [("route", route), ("method", method), ("status", "\(status / 100)xx")])
            r[key] = c
            return c
        }
        c.increment()
    }

    /// The Prometheus text exposition.
    public func exposition() -> String {
        Self.registry.emitToString()
    }
}
