import EspyCore
import EspyHTTP
import EspyWire

// Query-string and form decoding, and the count question read from them (`GET /v1/count`,
// `POST /internal/v1/count`): paths, filters, buckets, limits, times.
//
// Input: the query string (after `?`); the same bytes are also read as a form body.
// Checked: percent-encoding every decoded pair and decoding again gives the same pairs; an
// accepted question, written back as parameters (as a coordinator forwards it), reads as the
// same question; an accepted time prints as a time that parses back to itself.

private let countParameters = ["group_by", "where", "where_not", "bucket", "distinct", "limit", "since", "until"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQueryParameters(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let query = String(decoding: bytes, as: UTF8.self)
    let request = HTTPRequest(method: .get, target: "/v1/count?" + query, body: bytes)
    let parameters = request.queryParameters
    _ = request.formParameters
    _ = request.queryParameter("group_by")
    checkEncodingRoundTrip(parameters)

    _ = try? QueryParameters.check(parameters, allowed: countParameters, repeatable: ["group_by", "where", "where_not"])
    guard let question = try? CountQuery(parameters: parameters) else { return 0 }
    let restated: CountQuery
    let body = Array(InternalWire.countForm(question, partitions: [0, 7]).utf8)
    do { restated = try CountQuery(parameters: HTTPRequest(method: .post, target: "/internal/v1/count", body: body).formParameters) } catch {
        fatalError("a forwarded question is refused: \(error)")
    }
    fuzzCheck(restated.groupPaths == question.groupPaths && Set(restated.filters) == Set(question.filters)
                 && restated.bucket == question.bucket && restated.distinct == question.distinct
                 && restated.limit == question.limit && restated.since == question.since && restated.until == question.until,
                 "a forwarded question reads differently")
    for time in [question.since, question.until].compactMap({ $0 }) {
        if let reparsed = try? Timestamp(parsing: time.description) { fuzzCheck(reparsed == time, "\(time) reparses as \(reparsed)") }
    }
    for path in question.compositePaths {
        _ = JSONPathExtractor(paths: [path])
    }
    _ = question.compositeKey(question.compositePaths.map { $0.description }, bucketLabel: question.bucket?.label(of: question.since ?? Timestamp(microseconds: 0)))
    return 0
}

private func checkEncodingRoundTrip(_ parameters: QueryParameters.List) {
    let encoded = parameters.map { HTTPRequest.percentEncoded($0.name) + "=" + HTTPRequest.percentEncoded($0.value) }
        .joined(separator: "&")
    let decoded = HTTPRequest(method: .get, target: "/?" + encoded).queryParameters
    fuzzCheck(decoded.count == parameters.count && zip(decoded, parameters).allSatisfy { $0 == $1 },
                 "percent-encoding does not round-trip: \(parameters) → \(encoded) → \(decoded)")
}
