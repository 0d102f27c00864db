import EspyCore
import XCTest

final class JSONCompactorTests: XCTestCase {
    private func compact(_ text: String, dropping key: StaticString? = nil) throws -> String {
        String(decoding: try JSONCompactor.compactObject(Array(text.utf8), droppingTopLevelKey: key), as: UTF8.self)
    }

    private func compact(bytes: [UInt8]) throws -> [UInt8] {
        try JSONCompactor.compactObject(bytes)
    }

    private func assertRejected(_ text: String, reasonContains fragment: String? = nil,
                                file: StaticString = #filePath, line: UInt = #line) {
        assertRejected(bytes: Array(text.utf8), reasonContains: fragment, file: file, line: line)
    }

    private func assertRejected(bytes: [UInt8], reasonContains fragment: String? = nil,
                                file: StaticString = #filePath, line: UInt = #line) {
        do {
            let output = try JSONCompactor.compactObject(bytes)
            XCTFail("accepted \(bytes) as \(String(decoding: output, as: UTF8.self))", file: file, line: line)
        } catch {
            if let fragment {
                XCTAssertTrue(error.reason.contains(fragment), "reason '\(error.reason)' lacks '\(fragment)'",
                              file: file, line: line)
            }
        }
    }

    // MARK: Compaction

    func testWhitespaceBetweenTokensIsRemoved() throws {
        let input = " {\n\t\"a\" : [ 1 , 2 ,\r\n 3 ] ,  \"b\"\t:\t{ \"c\" : null } , \"d\" : [ ] , \"e\" : { } } \n"
        XCTAssertEqual(try compact(input), #"{"a":[1,2,3],"b":{"c":null},"d":[],"e":{}}"#)
    }

    func testNumberTextIsKeptExactly() throws {
        let input = #"{"a": 1.50, "b": -0, "c": 1E+10, "d": 2.5e-3, "e": 12345678901234567890123, "f": 0.0}"#
        XCTAssertEqual(try compact(input), #"{"a":1.50,"b":-0,"c":1E+10,"d":2.5e-3,"e":12345678901234567890123,"f":0.0}"#)
    }

    func testStringEscapesAndWhitespaceInsideStringsAreKeptByteForByte() throws {
        let input = #"{ "k e y" : "a \"q\" \\ \/ \b\f\n\r\t \u00e9 \uD83D\uDE00  end" }"#
        XCTAssertEqual(try compact(input), #"{"k e y":"a \"q\" \\ \/ \b\f\n\r\t \u00e9 \uD83D\uDE00  end"}"#)
    }

    func testRawMultibyteUTF8IsKept() throws {
        let input = "{ \"name\" : \"Zoë 東京 😀\" }"
        XCTAssertEqual(try compact(input), "{\"name\":\"Zoë 東京 😀\"}")
    }

    func testLiteralsAreKept() throws {
        XCTAssertEqual(try compact(#"{"t": true, "f": false, "n": null}"#), #"{"t":true,"f":false,"n":null}"#)
    }

    func testAlreadyCompactInputIsUnchanged() throws {
        let input = #"{"python":{"version_info":[3,11,2,"final",0]},"uname":{"system":"Linux"}}"#
        XCTAssertEqual(try compact(input), input)
    }

    // MARK: Dropping server_time

    func testDropsServerTimeWhenItIsTheFirstMember() throws {
        XCTAssertEqual(try compact(#"{"server_time": "2020-01-01", "a": 1, "b": 2}"#, dropping: "server_time"), #"{"a":1,"b":2}"#)
    }

    func testDropsServerTimeWhenItIsAMiddleMember() throws {
        XCTAssertEqual(try compact(#"{"a": 1, "server_time": {"x": [1, 2]}, "b": 2}"#, dropping: "server_time"), #"{"a":1,"b":2}"#)
    }

    func testDropsServerTimeWhenItIsTheLastMember() throws {
        XCTAssertEqual(try compact(#"{"a": 1, "b": 2, "server_time": 5}"#, dropping: "server_time"), #"{"a":1,"b":2}"#)
    }

    func testDropsServerTimeWhenItIsTheOnlyMember() throws {
        XCTAssertEqual(try compact(#"{ "server_time" : "x" }"#, dropping: "server_time"), "{}")
    }

    func testDropsEveryTopLevelServerTimeMember() throws {
        XCTAssertEqual(try compact(#"{"server_time":1,"a":1,"server_time":2}"#, dropping: "server_time"), #"{"a":1}"#)
    }

    func testKeepsNestedServerTime() throws {
        let input = #"{"a": {"server_time": 1}, "b": [{"server_time": 2}], "server_time": 3}"#
        XCTAssertEqual(try compact(input, dropping: "server_time"), #"{"a":{"server_time":1},"b":[{"server_time":2}]}"#)
    }

    func testKeepsServerTimeWhenNoKeyIsDropped() throws {
        XCTAssertEqual(try compact(#"{"server_time": 1}"#), #"{"server_time":1}"#)
    }

    func testKeepsKeysThatOnlyStartWithServerTime() throws {
        XCTAssertEqual(try compact(#"{"server_timestamp": 1, "server_tim": 2}"#, dropping: "server_time"),
                       #"{"server_timestamp":1,"server_tim":2}"#)
    }

    /// A key is a JSON string, so `"server\u005ftime"` *is* `server_time`; kept, it reaches the
    /// export as a second `server_time` member after the server's, and readers that let the last
    /// duplicate win (Python's json, JavaScript's JSON.parse) see the client's forged time.
    func testEscapedSpellingOfServerTimeIsDroppedToo() throws {
        XCTAssertEqual(try compact(#"{"server\u005ftime": "1999-01-01T00:00:00Z", "a": 1}"#, dropping: "server_time"), #"{"a":1}"#)
        XCTAssertEqual(try compact(#"{"a": 1, "\u0073erver_time": 2}"#, dropping: "server_time"), #"{"a":1}"#)
    }

    func testDroppedMemberIsStillValidated() {
        XCTAssertThrowsError(try compact(#"{"server_time": [1,], "a": 1}"#, dropping: "server_time"))
    }

    // MARK: Rejections

    func testRejectsDocumentsThatAreNotObjects() {
        assertRejected("[1, 2]", reasonContains: "object")
        assertRejected(#""text""#, reasonContains: "object")
        assertRejected("42", reasonContains: "object")
        assertRejected("null", reasonContains: "object")
    }

    func testRejectsEmptyDocument() {
        assertRejected("", reasonContains: "empty")
        assertRejected("  \n\t ", reasonContains: "empty")
    }

    func testRejectsTrailingGarbage() {
        assertRejected(#"{"a":1} x"#, reasonContains: "after")
        assertRejected(#"{"a":1}{"b":2}"#, reasonContains: "after")
        assertRejected(#"{"a":1},"#)
    }

    func testTrailingGarbageErrorPointsAtTheGarbage() {
        XCTAssertThrowsError(try compact(#"{"a":1}  x"#)) { error in
            XCTAssertEqual((error as? JSONSyntaxError)?.offset, 9)
        }
    }

    func testRejectsStructuralErrors() {
        assertRejected(#"{"a":1"#)
        assertRejected(#"{"a" 1}"#)
        assertRejected(#"{"a":1,}"#)
        assertRejected(#"{"a":[1,]}"#)
        assertRejected(#"{a:1}"#)
        assertRejected(#"{"a":tru}"#)
        assertRejected(#"{"a":nul"#)
        assertRejected(#"{"a":"unterminated}"#)
        assertRejected(#"{"a":'x'}"#)
    }

    func testRejectsBadEscapes() {
        assertRejected(#"{"a":"\x"}"#, reasonContains: "escape")
        assertRejected(#"{"a":"\u12G4"}"#, reasonContains: "escape")
        assertRejected(#"{"a":"\u12"}"#, reasonContains: "escape")
        assertRejected(#"{"a\q":1}"#, reasonContains: "escape")
    }

    func testRejectsControlCharactersInStrings() {
        assertRejected("{\"a\":\"line\nbreak\"}", reasonContains: "control")
        assertRejected("{\"a\":\"tab\there\"}", reasonContains: "control")
        assertRejected(bytes: Array(#"{"a":""#.utf8) + [0x00] + Array(#""}"#.utf8), reasonContains: "control")
    }

    func testRejectsInvalidUTF8() {
        let open = Array(#"{"a":""#.utf8)
        let close = Array(#""}"#.utf8)
        let invalid: [[UInt8]] = [
            [0xC0, 0xAF],              // overlong '/'
            [0xC1, 0xBF],              // overlong
            [0xE0, 0x80, 0xAF],        // overlong 3-byte
            [0xF0, 0x80, 0x80, 0xAF],  // overlong 4-byte
            [0xED, 0xA0, 0x80],        // UTF-16 surrogate U+D800
            [0xED, 0xBF, 0xBF],        // UTF-16 surrogate U+DFFF
            [0xF4, 0x90, 0x80, 0x80],  // beyond U+10FFFF
            [0xF5, 0x80, 0x80, 0x80],  // invalid lead
            [0x80],                    // lone continuation
            [0xC3],                    // truncated before the closing quote
            [0xE2, 0x82],              // truncated 3-byte
            [0xFF],
        ]
        for sequence in invalid {
            assertRejected(bytes: open + sequence + close)
        }
    }

    func testAcceptsBoundaryUTF8Sequences() throws {
        let valid: [[UInt8]] = [
            [0xC2, 0x80],              // U+0080
            [0xE0, 0xA0, 0x80],        // U+0800
            [0xED, 0x9F, 0xBF],        // U+D7FF, just below the surrogates
            [0xEE, 0x80, 0x80],        // U+E000, just above them
            [0xF0, 0x90, 0x80, 0x80],  // U+10000
            [0xF4, 0x8F, 0xBF, 0xBF],  // U+10FFFF
        ]
        for sequence in valid {
            let document = Array(#"{"a":""#.utf8) + sequence + Array(#""}"#.utf8)
            XCTAssertEqual(try compact(bytes: document), document)
        }
    }

    func testRejectsNumbersWithLeadingZeros() {
        assertRejected(#"{"a":01}"#)
        assertRejected(#"{"a":-01}"#)
        assertRejected(#"{"a":00}"#)
    }

    func testRejectsMalformedNumbers() {
        assertRejected(#"{"a":-}"#, reasonContains: "number")
        assertRejected(#"{"a":1.}"#, reasonContains: "fraction")
        assertRejected(#"{"a":.5}"#)
        assertRejected(#"{"a":1e}"#, reasonContains: "exponent")
        assertRejected(#"{"a":+1}"#)
    }

    private func nested(depth: Int) -> String {
        // depth counts containers: one top-level object plus depth - 1 arrays/objects inside.
        var text = "{\"a\":"
        for i in 1..<depth { text += i % 2 == 0 ? "{\"a\":" : "[" }
        text += "1"
        for i in stride(from: depth - 1, through: 1, by: -1) { text += i % 2 == 0 ? "}" : "]" }
        return text + "}"
    }

    func testAcceptsNestingUpToMaxDepth() throws {
        let document = nested(depth: JSONCompactor.maxDepth)
        XCTAssertEqual(try compact(document), document)
    }

    func testRejectsNestingDeeperThanMaxDepth() {
        assertRejected(nested(depth: JSONCompactor.maxDepth + 1), reasonContains: "nesting")
        assertRejected(String(repeating: "[", count: 10_000))
        assertRejected("{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}",
                       reasonContains: "nesting")
    }

    // MARK: Duplicate keys

    /// Readers disagree on duplicates (the first wins in our counts, the last in Python's json
    /// and jq), so a record holding any would be read differently by each.
    func testRejectsDuplicateKeysNamingTheKey() {
        assertRejected(#"{"dup":"first","dup":"second"}"#, reasonContains: "duplicate key 'dup'")
        assertRejected(#"{"a":1,"b":2,"c":3,"b":4}"#, reasonContains: "'b'")
    }

    func testRejectsDuplicateKeysAtAnyNestingLevel() {
        assertRejected(#"{"a":{"x":1,"x":2}}"#, reasonContains: "duplicate key 'x'")
        assertRejected(#"{"a":[1,{"y":1,"z":{},"y":2}]}"#, reasonContains: "duplicate key 'y'")
        // The duplicate comes after a nested object that has keys of its own.
        assertRejected(#"{"a":{"b":1,"c":2},"d":3,"a":4}"#, reasonContains: "duplicate key 'a'")
    }

    func testDuplicateKeyErrorPointsAtTheSecondKey() {
        XCTAssertThrowsError(try compact(#"{"dup": 1, "dup": 2}"#)) { error in
            XCTAssertEqual((error as? JSONSyntaxError)?.offset, 11)
        }
    }

    func testEscapedSpellingOfAKeyIsTheSameKey() {
        assertRejected(#"{"a":1,"\u0061":2}"#, reasonContains: "duplicate key")
        assertRejected(#"{"\u00e9":1,"é":2}"#, reasonContains: "duplicate key")
        assertRejected(#"{"\ud83d\ude00":1,"\uD83D\uDE00":2}"#, reasonContains: "duplicate key")
    }

    func testEqualKeysInDifferentObjectsAreFine() throws {
        let input = #"{"a":{"a":1,"b":2},"b":{"a":3,"b":[{"a":4},{"a":5}]},"c":"a"}"#
        XCTAssertEqual(try compact(input), input)
        // Same length, same first byte, or one a prefix of another: all different keys.
        XCTAssertEqual(try compact(#"{"ab":1,"ba":2,"a":3,"b":4,"abc":5}"#), #"{"ab":1,"ba":2,"a":3,"b":4,"abc":5}"#)
        XCTAssertEqual(try compact(#"{"a":1,"\u0062":2}"#), #"{"a":1,"\u0062":2}"#)
    }

    /// Past `linearKeyLimit` keys an object switches to a set; both halves must catch duplicates.
    func testLargeObjectsAreCheckedToo() throws {
        let keys = (0..<200).map { "\"key\($0)\":\($0)" }
        let distinct = "{" + keys.joined(separator: ",") + "}"
        XCTAssertEqual(try compact(distinct), distinct)
        assertRejected("{" + (keys + [#""key3":0"#]).joined(separator: ",") + "}", reasonContains: "'key3'")
        assertRejected("{" + (keys + [#""key199":0"#]).joined(separator: ",") + "}", reasonContains: "'key199'")
        assertRejected("{" + (keys + [#""\u006bey150":0"#]).joined(separator: ",") + "}", reasonContains: "duplicate key")
    }

    func testDuplicateKeyMessageShortensAHugeKey() {
        let key = String(repeating: "k", count: 10_000)
        XCTAssertThrowsError(try compact("{\"\(key)\":1,\"\(key)\":2}")) { error in
            XCTAssertLessThan("\(error)".utf8.count, 200, "\(error)")
        }
    }

    func testDroppedKeyIsNotADuplicateOfItself() throws {
        // Every top-level server_time is dropped, so none of them is stored twice.
        XCTAssertEqual(try compact(#"{"server_time":1,"a":1,"server_time":2}"#, dropping: "server_time"), #"{"a":1}"#)
    }

    func testStoredOriginAcceptsDuplicateKeysAlreadyStored() throws {
        let stored = Array(#"{"dup":"first","dup":"second"}"#.utf8)
        XCTAssertEqual(try JSONCompactor.compactObject(stored, origin: .stored), stored)
    }

    func testAStoredRecordWithItsDroppedKeyTwiceIsRefused() {
        for text in [#"{"server_time":"a","x":1,"server_time":"b"}"#, #"{"server_time":"a","server\u005ftime":"b"}"#] {
            XCTAssertThrowsError(try JSONCompactor.compactObject(Array(text.utf8), droppingTopLevelKey: "server_time", origin: .stored), text) {
                XCTAssertTrue("\($0)".contains("duplicate key"), "\($0)")
            }
        }
        XCTAssertEqual(try JSONCompactor.compactObject(Array(#"{"x":{"server_time":1},"server_time":"a"}"#.utf8),
                                                       droppingTopLevelKey: "server_time", origin: .stored), Array(#"{"x":{"server_time":1}}"#.utf8))
    }

    // MARK: Number length

    private func document(numberOfLength length: Int) -> String {
        #"{"n":"# + String(repeating: "9", count: length) + "}"
    }

    func testAcceptsNumbersUpToTheMaximumLength() throws {
        let document = document(numberOfLength: JSONCompactor.maxNumberLength)
        XCTAssertEqual(try compact(document), document)
        let fraction = #"{"n":-1."# + String(repeating: "5", count: JSONCompactor.maxNumberLength - 3) + "}"
        XCTAssertEqual(try compact(fraction), fraction)
    }

    /// Python 3.11+ refuses to read integers of more than 4300 digits (int_max_str_digits).
    func testRejectsLongerNumbersNamingTheLimit() {
        assertRejected(document(numberOfLength: JSONCompactor.maxNumberLength + 1), reasonContains: "longer than 4300")
        assertRejected(document(numberOfLength: 1_000_000), reasonContains: "number longer than")
        assertRejected(#"{"a":[1,{"n":-1."# + String(repeating: "0", count: 4300) + "}]}", reasonContains: "number")
    }

    func testLongNumberErrorPointsAtTheNumber() {
        XCTAssertThrowsError(try compact(#"{"a": "# + String(repeating: "1", count: 5000) + "}")) { error in
            XCTAssertEqual((error as? JSONSyntaxError)?.offset, 6)
        }
    }

    func testStoredOriginAcceptsLongNumbersAlreadyStored() throws {
        let stored = Array(document(numberOfLength: 10_000).utf8)
        XCTAssertEqual(try JSONCompactor.compactObject(stored, origin: .stored), stored)
    }

    // MARK: Byte-order mark

    private let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    func testSkipsALeadingByteOrderMarkWhenAsked() throws {
        let body = byteOrderMark + Array(#" {"a": 1}"#.utf8)
        XCTAssertEqual(try JSONCompactor.compactObject(body, skippingByteOrderMark: true), Array(#"{"a":1}"#.utf8))
    }

    func testByteOrderMarkIsRefusedUnlessAskedOrAnywhereButTheStart() {
        assertRejected(bytes: byteOrderMark + Array(#"{"a":1}"#.utf8))
        XCTAssertThrowsError(try JSONCompactor.compactObject(Array(" ".utf8) + byteOrderMark + Array(#"{"a":1}"#.utf8),
                                                             skippingByteOrderMark: true))
        XCTAssertThrowsError(try JSONCompactor.compactObject(byteOrderMark + byteOrderMark + Array(#"{"a":1}"#.utf8),
                                                             skippingByteOrderMark: true))
    }

    func testOffsetsAfterAByteOrderMarkCountFromTheFirstByte() {
        XCTAssertThrowsError(try JSONCompactor.compactObject(byteOrderMark + Array(#"{"a":}"#.utf8), skippingByteOrderMark: true)) { error in
            XCTAssertEqual((error as? JSONSyntaxError)?.offset, 8)
        }
        XCTAssertThrowsError(try JSONCompactor.compactObject(byteOrderMark, skippingByteOrderMark: true)) { error in
            XCTAssertTrue("\(error)".contains("empty"), "\(error)")
        }
    }
}
