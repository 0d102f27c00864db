@testable import EspyGossipWire
import EspyTestRandom
import XCTest

/// Bytes from hex text; spaces and newlines are ignored so vectors can be laid out like the spec.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8).filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") }
    precondition(digits.count % 2 == 0, "odd hex length in test vector")
    func nibble(_ digit: UInt8) -> UInt8 {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: preconditionFailure("bad hex digit in test vector")
        }
    }
    return stride(from: 0, to: digits.count, by: 2).map { nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
}

/// Bytes of an ASCII string, for building msgpack keys in vectors.
func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] })
}

/// Asserts that `body` throws exactly `expected`.
func XCTAssertThrowsWireError<T>(_ expected: WireError, _ body: @autoclosure () throws -> T,
                                 file: StaticString = #filePath, line: UInt = #line) {
    do {
        let value = try body()
        XCTFail("expected \(expected), got \(value)", file: file, line: line)
    } catch let error as WireError {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got non-wire error \(error)", file: file, line: line)
    }
}

/// Asserts that `body` throws some `WireError` (for inputs where the exact reason is incidental).
@discardableResult
func XCTAssertThrowsAnyWireError<T>(_ body: @autoclosure () throws -> T,
                                    file: StaticString = #filePath, line: UInt = #line) -> WireError? {
    do {
        let value = try body()
        XCTFail("expected a WireError, got \(value)", file: file, line: line)
        return nil
    } catch let error as WireError {
        XCTAssertFalse(error.description.isEmpty, file: file, line: line)
        return error
    } catch {
        XCTFail("expected a WireError, got \(error)", file: file, line: line)
        return nil
    }
}

extension SplitMix64 {
    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}

/// Spec §15 F nodes and addresses.
enum Fixture {
    static let localhost: [UInt8] = [127, 0, 0, 1]
    static let pingB = PingMessage(seqNo: 7, node: "b", sourceAddr: localhost, sourcePort: 7946, sourceNode: "a")
    static let aliveA = AliveMessage(incarnation: 1, node: "a", addr: localhost, port: 7946, meta: nil, versions: .serfAgent)
    static let aliveHex = "0486a441646472a47f000001ab496e6361726e6174696f6e01a44d657461c0a44e6f6465a161a4506f7274cd1f0aa356736ea6010502020505"
    static let keyBytes: [UInt8] = Array(0..<32)
    static let nonce: [UInt8] = Array(0x10...0x1b)
}
