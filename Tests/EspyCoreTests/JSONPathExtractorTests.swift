import EspyCore
import XCTest

final class JSONPathExtractorTests: XCTestCase {
    private func extractor(_ paths: [String]) throws -> JSONPathExtractor {
        JSONPathExtractor(paths: try paths.map { try FieldPath(parsing: $0) })
    }

    /// The raw text at each path, or nil.
    private func texts(_ paths: [String], in document: String) throws -> [String?] {
        let bytes = Array(document.utf8)
        let ranges = try extractor(paths).extract(from: bytes.withUnsafeBufferPointer { $0 })
        return ranges.map { range in range.map { String(decoding: bytes[$0], as: UTF8.self) } }
    }

    private func keys(_ paths: [String], in document: String) throws -> [String?] {
        let bytes = Array(document.utf8)
        let extractor = try extractor(paths)
        return bytes.withUnsafeBufferPointer { extractor.groupingKeys(from: $0) }
    }

    private func key(_ value: String) -> String {
        Array(value.utf8).withUnsafeBufferPointer { JSONText.groupingKey(ofValue: $0) }
    }

    private let profile = #"""
        {"python": {"version_info": [3, 11, 2, "final", 0], "implementation": "CPython", "is_64bit": true},
         "uname": {"system": "Linux", "release": "6.1.0", "machine": "x86_64"},
         "linux_dist": {"name": "debian", "version": null},
         "argv": ["espy", "--flag"]}
        """#

    func testExtractsSeveralPathsInOnePass() throws {
        XCTAssertEqual(try texts(["uname$system", "python$implementation", "python$is_64bit", "linux_dist$version"], in: profile),
                       [#""Linux""#, #""CPython""#, "true", "null"])
    }

    func testPathsSharingAPrefixAreAllFound() throws {
        XCTAssertEqual(try texts(["python$version_info$0", "python$version_info$1", "python$version_info", "python"],
                                 in: #"{"python":{"version_info":[3,11]}}"#),
                       ["3", "11", "[3,11]", #"{"version_info":[3,11]}"#])
    }

    func testArrayIndexSegmentsReadArrayElements() throws {
        XCTAssertEqual(try texts(["python$version_info$0", "python$version_info$3", "argv$1"], in: profile),
                       ["3", #""final""#, #""--flag""#])
    }

    func testArrayIndexPastTheEndIsMissing() throws {
        XCTAssertEqual(try texts(["python$version_info$5", "argv$2"], in: profile), [nil, nil])
    }

    func testIntegerSegmentOnAnObjectMatchesTheKey() throws {
        XCTAssertEqual(try texts(["m$0", "m$1"], in: #"{"m": {"1": "one", "0": "zero"}}"#), [#""zero""#, #""one""#])
    }

    func testIndexIntoArrayOfObjects() throws {
        XCTAssertEqual(try texts(["items$1$name"], in: #"{"items":[{"name":"a"},{"name":"b"},{"name":"c"}]}"#), [#""b""#])
    }

    func testMissingPathsAreNil() throws {
        XCTAssertEqual(try texts(["uname$kernel", "nope", "python$version_info$0$x", "uname$system$x"], in: profile),
                       [nil, nil, nil, nil])
    }

    func testPathThroughAScalarIsMissing() throws {
        XCTAssertEqual(try texts(["a$b"], in: #"{"a": 5}"#), [nil])
        XCTAssertEqual(try texts(["a$b"], in: #"{"a": "b"}"#), [nil])
    }

    func testEmptyDocumentsAndContainersYieldMissing() throws {
        XCTAssertEqual(try texts(["a"], in: "{}"), [nil])
        XCTAssertEqual(try texts(["a$0"], in: #"{"a":[]}"#), [nil])
        XCTAssertEqual(try texts(["a$b"], in: #"{"a":{}}"#), [nil])
    }

    func testKeysWithEscapesMatchTheirDecodedText() throws {
        XCTAssertEqual(try texts(["name", "a\"b"], in: #"{"na\u006de": "x", "a\"b": 2}"#), [#""x""#, "2"])
    }

    func testEscapedKeyOfDifferentLengthDoesNotMatchByAccident() throws {
        XCTAssertEqual(try texts(["name"], in: #"{"nam\u0065x": 1, "name": 2}"#), ["2"])
    }

    func testSkippedValuesContainingBracketsAndQuotesDoNotConfuseTheWalk() throws {
        let document = #"{"skip": {"s": "}]\"{[", "t": [["}"]]}, "want": "yes"}"#
        XCTAssertEqual(try texts(["want"], in: document), [#""yes""#])
    }

    func testFirstDuplicateKeyWins() throws {
        XCTAssertEqual(try texts(["a", "b$c"], in: #"{"a": 1, "b": {"c": "first"}, "a": 2, "b": {"c": "second"}}"#),
                       ["1", #""first""#])
    }

    func testSamePathTwiceResolvesBoth() throws {
        XCTAssertEqual(try texts(["uname$system", "uname$system"], in: profile), [#""Linux""#, #""Linux""#])
    }

    func testWhitespaceAroundValuesIsNotIncluded() throws {
        XCTAssertEqual(try texts(["a", "b"], in: "{ \"a\" :\n 12 , \"b\" : \"x\" }"), ["12", #""x""#])
    }

    // MARK: Grouping keys

    func testGroupingKeyOfStringIsDecoded() {
        XCTAssertEqual(key(#""Linux""#), "Linux")
        XCTAssertEqual(key(#""line\nbreak""#), "line\nbreak")
        XCTAssertEqual(key(#""tab\t \"q\" \\ \/ \b\f\r""#), "tab\t \"q\" \\ / \u{08}\u{0C}\r")
        XCTAssertEqual(key(#""caf\u00e9""#), "café")
        XCTAssertEqual(key(#""\uD83D\uDE00""#), "😀")
        XCTAssertEqual(key(#""a\uD83D\uDE00b""#), "a😀b")
        XCTAssertEqual(key("\"Zoë\""), "Zoë")
        XCTAssertEqual(key(#""""#), "")
    }

    func testGroupingKeyOfNumberIsItsLiteralText() {
        XCTAssertEqual(key("3"), "3")
        XCTAssertEqual(key("3.10"), "3.10")
        XCTAssertEqual(key("-1e5"), "-1e5")
    }

    func testGroupingKeysOfLiteralsAreTheirText() {
        XCTAssertEqual(key("true"), "true")
        XCTAssertEqual(key("false"), "false")
        XCTAssertEqual(key("null"), "null")
    }

    func testGroupingKeysOfContainersAreTheirCompactText() {
        XCTAssertEqual(key("[3,11]"), "[3,11]")
        XCTAssertEqual(key(#"{"a":"b"}"#), #"{"a":"b"}"#)
    }

    func testGroupingKeysFromADocument() throws {
        let document = #"{"s":"x\ny","n":3.0,"t":true,"z":null,"arr":[1,"2"],"obj":{"k":[]},"e":"\uD83D\uDE00"}"#
        XCTAssertEqual(try keys(["s", "n", "t", "z", "arr", "obj", "e", "missing"], in: document),
                       ["x\ny", "3.0", "true", "null", #"[1,"2"]"#, #"{"k":[]}"#, "😀", nil])
    }

    func testStringAndNumberWithTheSameTextShareAGroupingKey() throws {
        // Documented behaviour: a string's key is its characters, a number's key its text.
        XCTAssertEqual(try keys(["a", "b"], in: #"{"a":"3","b":3}"#), ["3", "3"])
    }

    func testExtractorOverCompactedRecordGivesCompactContainerKeys() throws {
        let compact = try JSONCompactor.compactObject(Array(#"{"v": [3, 11, "final"]}"#.utf8))
        let extractor = try extractor(["v"])
        XCTAssertEqual(compact.withUnsafeBufferPointer { extractor.groupingKeys(from: $0) }, [#"[3,11,"final"]"#])
    }
}
