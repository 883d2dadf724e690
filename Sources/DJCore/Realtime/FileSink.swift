import CDSP
import Foundation
import Synchronization

/// The recording half of a `VirtualOutput.file` output: the frame ring the virtual device writes into (the
/// audio thread, lock-free, never waiting) and a writer thread at normal priority that drains it into a WAV
/// file every few milliseconds (libsndfile, header rewritten after each write: SIGKILL-safe).
///
/// The ring holds `seconds` of audio; should the writer fall that far behind (a stalled disk), the device
/// counts the frames that did not fit as dropped instead of waiting.
/// Lifetime: `close()` after the device is closed (the audio thread no longer writes): it stops the thread,
/// writes what the ring still holds, closes the file and frees the ring.
final class FileSink: @unchecked Sendable {
    let path: String
    /// The SPSC frame ring: the virtual device is its producer, the writer thread its consumer.
    let ring: OpaquePointer
    private let recorder: OpaquePointer
    private let stopRequested = Atomic<Bool>(false)
    private let writerDone = DispatchSemaphore(value: 0)
    private struct State {
        var closing = false
        var closed = false
        var finalFrames: UInt64 = 0
        var error: String?
    }
    private let state = Mutex(State())
    /// How often the writer thread empties the ring.
    static let pumpInterval: useconds_t = 20_000

    init(path: String, sampleRate: Int, channels: Int, format: AudioSampleFormat, seconds: Double = 4) throws {
        self.path = path
        var status = CDSP_OK
        let capacity = max(Int(seconds * Double(sampleRate)), 4096)
        guard let ring = cdsp_ring_create(capacity, channels * MemoryLayout<Float>.size, &status) else {
            throw DJCoreError.fileWrite(path: path, detail: "cannot record: no memory for a \(seconds) s buffer (\(status.message))")
        }
        let (rec, message) = withMessageBuffer { buf, len in
            cdsp_pcm_recorder_create(path, UInt32(clamping: sampleRate), UInt32(clamping: channels), format.c, ring,
                                     &status, buf, len)
        }
        guard let rec else {
            cdsp_ring_destroy(ring)
            throw DJCoreError.fileWrite(path: path, detail: message)
        }
        self.ring = ring
        self.recorder = rec
        let thread = Thread { [self] in writerLoop() }
        thread.name = "djcore-file-sink"
        thread.start()
    }

    deinit {
        close()
    }

    /// Frames in the file so far.
    var framesWritten: UInt64 {
        state.withLock { s in s.closed ? s.finalFrames : cdsp_pcm_recorder_frames(recorder) }
    }

    /// The first write error (disk full, the 4 GiB WAV limit), or nil.
    var error: String? { state.withLock { $0.error } }

    /// Stops the writer after it has emptied the ring, closes the file. Call once the device is closed.
    /// Idempotent.
    func close() {
        let first = state.withLock { s -> Bool in
            defer { s.closing = true }
            return !s.closing
        }
        guard first else { return }
        stopRequested.store(true, ordering: .releasing)
        writerDone.wait()
        let (moved, pumpMessage) = withMessageBuffer { cdsp_pcm_recorder_pump(recorder, $0, $1) }
        state.withLock { s in
            s.finalFrames = cdsp_pcm_recorder_frames(recorder)
            s.closed = true  // from here on nobody reads `recorder`
            if moved < 0 && s.error == nil { s.error = pumpMessage }
        }
        let (status, message) = withMessageBuffer { cdsp_pcm_recorder_close(recorder, $0, $1) }
        cdsp_ring_destroy(ring)
        if status != CDSP_OK { state.withLock { s in if s.error == nil { s.error = message } } }
    }

    private func writerLoop() {
        while !stopRequested.load(ordering: .acquiring) {
            let (moved, message) = withMessageBuffer { cdsp_pcm_recorder_pump(recorder, $0, $1) }
            if moved < 0 {
                state.withLock { s in if s.error == nil { s.error = message } }
            }
            usleep(Self.pumpInterval)
        }
        // the last frames are written by cdsp_pcm_recorder_close, after the device stopped writing
        writerDone.signal()
    }
}
