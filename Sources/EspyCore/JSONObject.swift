/// Builds one JSON object into bytes, member by member, for response bodies.
public struct JSONObject {
    public init() {}

    private var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var isEmpty = true

    /// Room for `count` more bytes, so that an object built from a shared template is copied
    /// once, not again as it grows.
    public mutating func reserveCapacity(_ count: Int) {
        bytes.reserveCapacity(bytes.count + count)
    }

    private mutating func key(_ name: String) {
        if !isEmpty { bytes.append(UInt8(ascii: ",")) }
        isEmpty = false
        JSONText.appendString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func add(_ name: String, _ value: String) {
        key(name)
        JSONText.appendString(value, to: &bytes)
    }

    public mutating func add(_ name: String, _ value: Int) {
        key(name)
        JSONText.appendInteger(value, to: &bytes)
    }

    public mutating func add(_ name: String, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func add(_ name: String, object: JSONObject) {
        key(name)
        bytes.append(contentsOf: object.finished)
    }

    public mutating func addStrings(_ name: String, _ values: [String]) {
        addArray(name, values) { JSONText.appendString($0, to: &$1) }
    }

    public mutating func addIntegers(_ name: String, _ values: [Int]) {
        addArray(name, values) { JSONText.appendInteger($0, to: &$1) }
    }

    /// A non-negative number given in hundredths, as JSON: 6667 is written 66.67, 5050 as 50.5, 5000 as 50.
    public mutating func add(_ name: String, hundredths: Int) {
        key(name)
        JSONText.appendInteger(hundredths / 100, to: &bytes)
        let fraction = hundredths % 100
        guard fraction != 0 else { return }
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(ascii: "0") + UInt8(fraction / 10))
        if fraction % 10 != 0 { bytes.append(UInt8(ascii: "0") + UInt8(fraction % 10)) }
    }

    public mutating func add(_ name: String, array: [JSONObject]) {
        addArray(name, array) { $1.append(contentsOf: $0.finished) }
    }

    private mutating func addArray<Element>(_ name: String, _ values: [Element], _ append: (Element, inout [UInt8]) -> Void) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            append(value, &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// The object's text, closed, with a trailing newline so curl output ends cleanly.
    public var finished: [UInt8] { bytes + [UInt8(ascii: "}")] }

    /// The object as a response body, ending in a newline. Consuming, so the bytes are closed
    /// in place rather than copied.
    public consuming func body() -> [UInt8] {
        var body = bytes
        bytes = []  // so that `body` holds the only reference and grows in place
        body.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
        return body
    }
}
