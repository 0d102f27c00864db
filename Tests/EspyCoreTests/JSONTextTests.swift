import EspyCore
import XCTest

final class JSONTextTests: XCTestCase {
    func testIntegersAreWrittenAsTheirDecimalDigits_afterWhatIsAlreadyThere() {
        for value in [0, 7, -7, 10, 1_000, -1_000, 123_456_789, Int.max, Int.min] {
            var out = Array("x=".utf8)
            JSONText.appendInteger(value, to: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), "x=\(value)")
        }
    }

    func testAnObjectsBodyClosesItAndEndsInANewline() {
        var object = JSONObject()
        object.add("records", 42)
        object.add("ready", true)
        XCTAssertEqual(String(decoding: object.body(), as: UTF8.self), "{\"records\":42,\"ready\":true}\n")
    }
}
