/// Everything one render thread needs, allocated up front: the engine and the master and cue buffers.
///
/// `renderPeriod` is the audio thread's whole job for one period and is real-time safe: it calls the C
/// render on preallocated memory and touches no Swift runtime machinery that could allocate or lock.
/// Call `warmUp()` once before entering a real-time region (the Swift runtime takes a lock the first time
/// it instantiates some metadata).
public final class RenderContext: @unchecked Sendable {
    public let engine: Engine
    public let periodFrames: Int
    /// Interleaved stereo, `periodFrames` frames.
    public let master: UnsafeMutableBufferPointer<Float>
    public let cue: UnsafeMutableBufferPointer<Float>

    public init(engine: Engine, periodFrames: Int) throws {
        guard periodFrames >= 1 && periodFrames <= 65536 else {
            throw DJCoreError.invalidArgument("period of \(periodFrames) frames is outside 1 ... 65536")
        }
        self.engine = engine
        self.periodFrames = periodFrames
        master = .allocate(capacity: periodFrames * 2)
        master.initialize(repeating: 0)
        cue = .allocate(capacity: periodFrames * 2)
        cue.initialize(repeating: 0)
    }

    deinit {
        master.deallocate()
        cue.deallocate()
    }

    /// Renders one period of `frames` (default: the full period) into `master` and `cue`.
    @inline(__always)
    public func renderPeriod(frames: Int? = nil) {
        let n = min(frames ?? periodFrames, periodFrames)
        engine.render(master: master.baseAddress!, cue: cue.baseAddress!, frames: n)
    }

    /// Calls the render path once with zero frames, so that the Swift side (metadata, the call into C)
    /// is set up before a real-time region starts. The C render itself needs no warm-up: everything it
    /// uses was allocated when the engine was created. It renders nothing and does not advance the clock.
    public func warmUp() {
        renderPeriod(frames: 0)
    }
}
