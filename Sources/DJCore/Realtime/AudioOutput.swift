import CDSP

/// An opened playback device (ALSA PCM), configured and ready to be written by an `AudioScheduler`.
///
/// Opening negotiates rate, format, channels, period and buffer, and `info` says what the device granted.
/// Errors name the device and quote ALSA: "cannot open sound device 'hw:5': no such device (ALSA: ...)".
public final class AudioOutput: @unchecked Sendable {
    /// nil once closed. Only the scheduler that took the output over uses it.
    private(set) var handle: OpaquePointer?
    public let info: AudioOutputInfo
    public let configuration: AudioOutputConfiguration

    /// Opens `configuration.device` at `sampleRate`. With `exactRate` false the device may grant another
    /// rate (see `info.sampleRate`): build the engine at that rate.
    public init(_ configuration: AudioOutputConfiguration, sampleRate: Int, exactRate: Bool = true) throws {
        try configuration.validate()
        self.configuration = configuration
        var info = cdsp_pcm_info()
        var status = CDSP_OK
        let (handle, message) = configuration.device.withCString { name in
            withMessageBuffer { buf, len -> OpaquePointer? in
                var req = cdsp_pcm_request_default(name, UInt32(clamping: sampleRate))
                req.rate_exact = exactRate ? 1 : 0
                req.format = configuration.format.c
                req.channels = UInt32(configuration.channels ?? 0)
                req.period_frames = UInt32(clamping: configuration.period.frames(at: sampleRate))
                req.periods = UInt32(configuration.periods)
                return cdsp_pcm_open(&req, &info, &status, buf, len)
            }
        }
        guard let handle else {
            throw DJCoreError.audioDevice(device: configuration.device, reason: AudioDeviceFailure(status), detail: message)
        }
        self.handle = handle
        self.info = AudioOutputInfo(info)
    }

    deinit {
        close()
    }

    /// Closes the device now (a scheduler does this as soon as a device fails, before reopening it: a
    /// JACK client of a dead server must be gone before a new one connects). Idempotent.
    func close() {
        if let h = handle {
            cdsp_pcm_close(h)
            handle = nil
        }
    }

    /// Waits up to `timeout` seconds for what is queued to play out, then stops the stream.
    /// Call only when no scheduler is writing.
    func drain(timeout: Double) {
        if let h = handle { cdsp_pcm_drain(h, Int32(max(0, timeout * 1000))) }
    }
}
