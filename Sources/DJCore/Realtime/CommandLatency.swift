import Synchronization

/// Measures command-to-output latency on a live scheduler.
///
/// For each command sent through it, it notes the monotonic time of the send, the frame being heard
/// at that moment (`AudioScheduler.heardFrame(at:)`) and the engine clock; the engine's `applied` event
/// gives the frame the command took effect at. Then:
///   - latency (frames) = applied frame + the engine's output latency (limiter look-ahead)
///                        − frame heard when the command was sent:
///     how long after the send the change reaches the speakers;
///   - wait (frames) = applied frame − engine clock at the send: how long the command waited for a render.
/// A command with a time stamp in the future must take effect exactly at it (`stampedExact`).
///
/// Needs an engine built with `EngineConfiguration.reportsAppliedCommands`; pass it the engine's events.
public final class CommandLatencyMeter: @unchecked Sendable {
    public struct Sample: Sendable, Equatable {
        public var id: UInt32
        public var sentNanoseconds: UInt64
        public var heardFrameAtSend: Double
        public var engineFrameAtSend: UInt64
        public var stampedFrame: UInt64?
        public var appliedFrame: UInt64?
    }

    /// Distribution of a quantity, in frames.
    public struct Distribution: Sendable, Equatable, Codable {
        public var count: Int
        public var min: Double
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var max: Double
        public var mean: Double

        init(_ values: [Double]) {
            let v = values.sorted()
            count = v.count
            func q(_ p: Double) -> Double { v.isEmpty ? 0 : v[Swift.min(v.count - 1, Int((p * Double(v.count - 1)).rounded()))] }
            min = v.first ?? 0
            max = v.last ?? 0
            p50 = q(0.5)
            p90 = q(0.9)
            p99 = q(0.99)
            mean = v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count)
        }
    }

    public struct Report: Sendable, Equatable {
        /// Unstamped commands: send -> heard, in frames.
        public var latency: Distribution
        /// Unstamped commands: send -> the period that applied them, in frames of engine clock.
        public var wait: Distribution
        public var stamped: Int
        /// Stamped commands that took effect exactly at their stamp.
        public var stampedExact: Int
        /// Commands whose effect was never reported.
        public var unapplied: Int
    }

    public let scheduler: AudioScheduler
    private let samples = Mutex<[UInt32: Sample]>([:])

    public init(scheduler: AudioScheduler) {
        precondition(scheduler.engine.configuration.reportsAppliedCommands,
                     "CommandLatencyMeter needs an engine built with reportsAppliedCommands")
        self.scheduler = scheduler
    }

    /// Sends `command` now (stamped with `frame` if given) and records the moment. Returns false when the
    /// scheduler has not written anything yet (nothing to measure against); the command is sent anyway.
    @discardableResult
    public func send(_ command: EngineCommand, at frame: UInt64? = nil) throws -> Bool {
        let engine = scheduler.engine
        return try samples.withLock { s in
            let now = AudioScheduler.monotonicNanoseconds()
            let heard = scheduler.heardFrame(at: now)
            let rendered = engine.frame
            let id = try engine.send(command, at: frame)
            guard let heard else { return false }
            s[id] = Sample(id: id, sentNanoseconds: now, heardFrameAtSend: heard, engineFrameAtSend: rendered,
                           stampedFrame: frame, appliedFrame: nil)
            return true
        }
    }

    /// Takes the `applied` events out of `events`.
    public func absorb(_ events: [EngineEvent]) {
        samples.withLock { s in
            for case let .applied(id, frame) in events where s[id] != nil {
                s[id]!.appliedFrame = frame
            }
        }
    }

    public var report: Report {
        let all = samples.withLock { Array($0.values) }
        let outLatency = Double(scheduler.engine.latencyFrames)
        var latency: [Double] = [], wait: [Double] = []
        var stamped = 0, exact = 0, unapplied = 0
        for s in all {
            guard let f = s.appliedFrame else { unapplied += 1; continue }
            if let stamp = s.stampedFrame {
                stamped += 1
                if f == stamp { exact += 1 }
            } else {
                latency.append(Double(f) + outLatency - s.heardFrameAtSend)
                wait.append(Double(f) - Double(s.engineFrameAtSend))
            }
        }
        return Report(latency: Distribution(latency), wait: Distribution(wait), stamped: stamped,
                      stampedExact: exact, unapplied: unapplied)
    }
}
