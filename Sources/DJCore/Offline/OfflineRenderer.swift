/// A command scheduled at an engine frame.
public struct TimedCommand: Sendable {
    public var frame: UInt64
    public var command: EngineCommand
    public init(frame: UInt64, command: EngineCommand) {
        self.frame = frame
        self.command = command
    }
}

/// Renders the engine with a virtual clock: the same `cdsp_engine_render` the live scheduler calls,
/// period after period, as fast as the CPU allows.
///
/// Commands are handed to the engine just before the period they fall in, stamped with their exact
/// frame, so a timeline of any length never fills the command queue and every command lands on its
/// frame whatever the period size: renders with periods of 32 or 1024 frames are bit-identical.
public struct OfflineRenderer {
    public let engine: Engine
    public let periodFrames: Int

    public init(engine: Engine, periodFrames: Int = 256) throws {
        guard periodFrames >= 1 && periodFrames <= engine.configuration.maxPeriodFrames else {
            throw DJCoreError.invalidArgument(
                "period of \(periodFrames) frames is outside 1 ... \(engine.configuration.maxPeriodFrames)")
        }
        self.engine = engine
        self.periodFrames = periodFrames
    }

    /// Renders `frames` frames, applying `timeline` (any order; sorted stably by frame here).
    /// `prepare` is called for each command just before it is sent (e.g. to decode a track on demand)
    /// and may replace it. `output` receives master (and cue) for each period, interleaved stereo.
    /// Returns the events the engine reported (track ends, ...).
    @discardableResult
    public func render(
        frames total: UInt64,
        timeline: [TimedCommand],
        prepare: (TimedCommand) throws -> EngineCommand = { $0.command },
        output: (_ master: UnsafeBufferPointer<Float>, _ cue: UnsafeBufferPointer<Float>) throws -> Void,
        progress: ((_ framesDone: UInt64) -> Void)? = nil
    ) throws -> [EngineEvent] {
        let ctx = try RenderContext(engine: engine, periodFrames: periodFrames)
        let ordered = timeline.enumerated().sorted {
            $0.element.frame != $1.element.frame ? $0.element.frame < $1.element.frame : $0.offset < $1.offset
        }.map(\.element)
        var next = 0
        var done: UInt64 = 0
        var events: [EngineEvent] = []
        let start = engine.frame
        while done < total {
            let n = Int(min(UInt64(periodFrames), total - done))
            let periodEnd = start + done + UInt64(n)
            while next < ordered.count && start + ordered[next].frame < periodEnd {
                let item = ordered[next]
                try engine.send(try prepare(item), at: start + item.frame)
                next += 1
            }
            ctx.renderPeriod(frames: n)
            try output(UnsafeBufferPointer(start: ctx.master.baseAddress, count: n * 2),
                       UnsafeBufferPointer(start: ctx.cue.baseAddress, count: n * 2))
            events += engine.pollEvents()
            done += UInt64(n)
            progress?(done)
        }
        return events
    }

    /// Renders into memory and returns the master (interleaved stereo).
    public func renderToArray(frames total: UInt64, timeline: [TimedCommand]) throws -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(Int(total) * 2)
        try render(frames: total, timeline: timeline) { master, _ in out.append(contentsOf: master) }
        return out
    }
}
