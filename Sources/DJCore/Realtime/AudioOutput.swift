import CDSP
import Foundation

/// An opened playback device (ALSA PCM, or a clock-paced `VirtualOutput`), configured and ready to be
/// written by an `AudioScheduler`.
///
/// Opening negotiates rate, format, channels, period and buffer, and `info` says what the device granted.
/// Errors name the device and quote ALSA: "cannot open sound device 'hw:5': no such device (ALSA: ...)";
/// a recording that cannot be created names its path (`DJCoreError.fileWrite`), before any audio starts.
public final class AudioOutput: @unchecked Sendable {
    /// nil once closed. Only the scheduler that took the output over uses it.
    private(set) var handle: OpaquePointer?
    public let info: AudioOutputInfo
    public let configuration: AudioOutputConfiguration
    /// The WAV writer of a `VirtualOutput.file` output.
    private let fileSink: FileSink?
    /// The virtual device's counters, kept when it is closed.
    private var closedVirtualStats: cdsp_pcm_virtual_stats?
    /// Guards `handle` against `virtualStats` readers while `close()` frees it.
    private let closeLock = NSLock()

    /// Opens `configuration.device` (or `configuration.virtualOutput`) at `sampleRate`. With `exactRate`
    /// false the device may grant another rate (see `info.sampleRate`): build the engine at that rate.
    /// A virtual output always grants what was asked.
    public init(_ configuration: AudioOutputConfiguration, sampleRate: Int, exactRate: Bool = true) throws {
        try configuration.validate()
        self.configuration = configuration
        var info = cdsp_pcm_info()
        var status = CDSP_OK
        let period = UInt32(clamping: configuration.period.frames(at: sampleRate))
        if let virtual = configuration.virtualOutput {
            func openVirtual(_ sink: OpaquePointer?) throws -> OpaquePointer {
                let (handle, message) = virtual.description.withCString { name in
                    withMessageBuffer { buf, len -> OpaquePointer? in
                        var req = cdsp_pcm_request_default(name, UInt32(clamping: sampleRate))
                        req.format = CDSP_PCM_FORMAT_FLOAT  // the device hands float frames to the recorder
                        req.channels = UInt32(configuration.channels ?? 2)
                        req.period_frames = period
                        req.periods = UInt32(configuration.periods)
                        return cdsp_pcm_open_virtual(&req, sink, &info, &status, buf, len)
                    }
                }
                guard let handle else {
                    throw DJCoreError.audioDevice(device: virtual.description, reason: AudioDeviceFailure(status), detail: message)
                }
                return handle
            }
            var sink: FileSink?
            if case let .file(path) = virtual {
                cdsp_pcm_close(try openVirtual(nil))  // what the device refuses is said before the file is created
                sink = try FileSink(path: path, sampleRate: sampleRate, channels: configuration.channels ?? 2,
                                    format: configuration.format)
            }
            let handle: OpaquePointer
            do { handle = try openVirtual(sink?.ring) } catch {
                sink?.close()
                throw error
            }
            self.handle = handle
            self.fileSink = sink
            var i = AudioOutputInfo(info)
            i.recordingPath = sink?.path
            self.info = i
            return
        }
        let (handle, message) = configuration.device.withCString { name in
            withMessageBuffer { buf, len -> OpaquePointer? in
                var req = cdsp_pcm_request_default(name, UInt32(clamping: sampleRate))
                req.rate_exact = exactRate ? 1 : 0
                req.format = configuration.format.c
                req.channels = UInt32(configuration.channels ?? 0)
                req.period_frames = period
                req.periods = UInt32(configuration.periods)
                return cdsp_pcm_open(&req, &info, &status, buf, len)
            }
        }
        guard let handle else {
            throw DJCoreError.audioDevice(device: configuration.device, reason: AudioDeviceFailure(status), detail: message)
        }
        self.handle = handle
        self.fileSink = nil
        self.info = AudioOutputInfo(info)
    }

    /// Counters of a virtual output; nil for a sound card.
    public struct VirtualStats: Sendable, Equatable {
        /// Frames the audio thread wrote to the device.
        public var frames: UInt64
        /// Frames lost because the recording's ring was full (its writer fell seconds behind); 0 for null.
        public var droppedFrames: UInt64
        /// Times the modelled buffer ran dry (the audio thread was late by more than the buffer).
        public var underruns: UInt64
        /// Frames in the WAV file so far (a `file` output), else nil.
        public var recordedFrames: UInt64?
        /// The recording's first write error (disk full, the 4 GiB WAV limit), if any.
        public var recordingError: String?
    }

    /// Counters of a virtual output (also after it was closed); nil for a sound card.
    public var virtualStats: VirtualStats? {
        guard info.isVirtual else { return nil }
        var st = cdsp_pcm_virtual_stats()
        closeLock.withLock {
            if let h = handle { cdsp_pcm_virtual_stats_get(h, &st) } else if let c = closedVirtualStats { st = c }
        }
        return VirtualStats(frames: st.frames, droppedFrames: st.dropped, underruns: st.xruns,
                            recordedFrames: fileSink?.framesWritten, recordingError: fileSink?.error)
    }

    deinit {
        close()
    }

    /// Closes the device now (a scheduler does this as soon as a device fails, before reopening it: a
    /// JACK client of a dead server must be gone before a new one connects). Idempotent.
    /// A file output's recording is finished here: its writer empties the ring and closes the file.
    func close() {
        closeLock.lock()
        if let h = handle {
            if info.isVirtual {
                var st = cdsp_pcm_virtual_stats()
                cdsp_pcm_virtual_stats_get(h, &st)
                closedVirtualStats = st
            }
            cdsp_pcm_close(h)
            handle = nil
        }
        closeLock.unlock()
        fileSink?.close()
    }

    /// Waits up to `timeout` seconds for what is queued to play out, then stops the stream.
    /// Call only when no scheduler is writing.
    func drain(timeout: Double) {
        if let h = handle { cdsp_pcm_drain(h, Int32(max(0, timeout * 1000))) }
    }
}
