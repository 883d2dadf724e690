import CDSP
import Foundation
import Testing

@Suite("SPSC ring")
struct RingTests {
    @Test func ring_capacity_rounds_up_to_power_of_two_and_counts_overflow() throws {
        var st = CDSP_OK
        let r = try #require(cdsp_ring_create(100, 4, &st))
        defer { cdsp_ring_destroy(r) }
        #expect(cdsp_ring_capacity(r) == 128)
        var values = [UInt32](0..<200)
        let wrote = values.withUnsafeBufferPointer { cdsp_ring_write(r, $0.baseAddress, 200) }
        #expect(wrote == 128)
        #expect(cdsp_ring_overflows(r) == 72)
        var out = [UInt32](repeating: 0, count: 200)
        let read = out.withUnsafeMutableBufferPointer { cdsp_ring_read(r, $0.baseAddress, 200) }
        #expect(read == 128)
        #expect(Array(out[0..<128]) == Array(values[0..<128]))
        values.removeAll()
    }

    @Test func ring_rejects_zero_sizes() {
        var st = CDSP_OK
        #expect(cdsp_ring_create(0, 4, &st) == nil)
        #expect(st == CDSP_ERR_INVALID_ARGUMENT)
        #expect(cdsp_ring_create(16, 0, &st) == nil)
    }

    /// Frames ring: 2 floats per element, written and read in odd-sized chunks by two threads.
    @Test func frame_ring_two_threads_four_million_frames_no_loss_no_reorder() throws {
        var st = CDSP_OK
        let r = try #require(cdsp_ring_create(1000, 2 * MemoryLayout<Float>.size, &st))
        defer { cdsp_ring_destroy(r) }
        let total = 4_000_000
        nonisolated(unsafe) let ring = r
        let producer = Thread {
            var next = 0
            var chunk = [Float](repeating: 0, count: 2 * 97)
            while next < total {
                let n = min(97, total - next)
                for i in 0..<n {
                    chunk[2 * i] = Float(next + i)
                    chunk[2 * i + 1] = -Float(next + i)
                }
                var off = 0
                while off < n {
                    off += chunk.withUnsafeBufferPointer { cdsp_ring_write(ring, $0.baseAddress! + 2 * off, n - off) }
                }
                next += n
            }
        }
        producer.start()
        var expected = 0
        var errors = 0
        var buf = [Float](repeating: 0, count: 2 * 61)
        while expected < total {
            let n = buf.withUnsafeMutableBufferPointer { cdsp_ring_read(ring, $0.baseAddress, 61) }
            for i in 0..<n {
                // Float holds integers exactly up to 2^24 = 16.7 M.
                if buf[2 * i] != Float(expected) || buf[2 * i + 1] != -Float(expected) { errors += 1 }
                expected += 1
            }
        }
        #expect(errors == 0)
        #expect(expected == total)
        // A producer that retries never overflows for good; the overflow counter counts refused elements.
        #expect(cdsp_ring_available(r) == 0)
    }

    /// Message ring: engine commands (a 56-byte struct) through two threads, one at a time.
    @Test func message_ring_two_threads_one_million_commands_in_order() throws {
        var st = CDSP_OK
        let r = try #require(cdsp_ring_create(64, MemoryLayout<cdsp_cmd>.stride, &st))
        defer { cdsp_ring_destroy(r) }
        nonisolated(unsafe) let ring = r
        let total: UInt64 = 1_000_000
        let producer = Thread {
            var f: UInt64 = 0
            while f < total {
                var c = cdsp_cmd_make(CDSP_CMD_RATE, UInt32(f % 4), f)
                c.value = Double(f) * 0.5
                c.a = Int64(bitPattern: f &* 2654435761)
                if cdsp_ring_write(ring, &c, 1) == 1 { f += 1 }
            }
        }
        producer.start()
        var expected: UInt64 = 0
        var bad = 0
        var c = cdsp_cmd()
        while expected < total {
            if cdsp_ring_read(ring, &c, 1) == 1 {
                if c.frame != expected || c.value != Double(expected) * 0.5 || c.target != UInt32(expected % 4)
                    || c.a != Int64(bitPattern: expected &* 2654435761) { bad += 1 }
                expected += 1
            }
        }
        #expect(bad == 0)
    }
}
