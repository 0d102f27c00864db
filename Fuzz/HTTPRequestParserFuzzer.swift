import EspyHTTP

// The HTTP/1.1 request parser (http_parser plus our limits), on one connection's bytes.
//
// Input: one byte that chooses the limits and how the rest is cut, then the bytes a client
// sends. The same bytes are parsed in one piece and in the cuts; the requests and the failure
// must be the same, since TCP may deliver any split (only which of two errors may differ).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let control = data[0]
    let stream = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    // Small limits make the 431 and 413 paths reachable in short inputs.
    let limits = control & 0x80 != 0
        ? HTTPRequestParser.Limits(maxHeaderBytes: 200, maxBodyBytes: 64)
        : HTTPRequestParser.Limits()

    let whole = parse(stream, limits: limits, cuts: [stream.count])
    let split = parse(stream, limits: limits, cuts: cutLengths(count: stream.count, seed: control))
    fuzzCheck(whole.requests == split.requests, "requests differ when split:\n\(whole.requests)\n\(split.requests)")
    // A request both malformed and over a limit may get either status: http_parser hands over
    // a field's bytes at the end of each read, so a split can reach the limit before the
    // malformed byte. Which error, not whether, may depend on the split.
    let eitherError: Set<Int?> = [400, 413, 431]
    fuzzCheck(whole.failure == split.failure || (eitherError.contains(whole.failure) && eitherError.contains(split.failure)),
              "failure differs when split: \(String(describing: whole.failure)) vs \(String(describing: split.failure))")
    return 0
}

private struct Outcome {
    var requests: [String] = []
    var failure: Int?
}

private func parse(_ stream: UnsafeRawBufferPointer, limits: HTTPRequestParser.Limits, cuts: [Int]) -> Outcome {
    let parser = HTTPRequestParser(limits: limits)
    var outcome = Outcome()
    var start = 0
    for length in cuts where start < stream.count {
        let end = min(stream.count, start + length)
        let result = parser.feed(UnsafeRawBufferPointer(rebasing: stream[start..<end]))
        start = end
        for event in result.events { outcome.requests.append(describe(event)) }
        _ = parser.pathAwaitingBody
        if let failure = result.failure {
            outcome.failure = failure.status.code
            break
        }
    }
    return outcome
}

private func describe(_ event: HTTPRequestParser.Event) -> String {
    switch event {
    case .expectsContinue:
        return "100-continue"
    case .request(let request):
        let headers = request.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
        return "\(request.method) \(request.target) \(request.version) keepAlive=\(request.keepAlive) "
            + "path=\(request.path) query=\(request.queryParameters.count)\n\(headers)\n\(request.body)"
    }
}

/// Chunk lengths from 1 to 16 bytes, mostly small, from a tiny xorshift seeded by `seed`.
private func cutLengths(count: Int, seed: UInt8) -> [Int] {
    var state = UInt32(seed) &* 2_654_435_761 | 1
    var lengths: [Int] = []
    var covered = 0
    while covered < count {
        state ^= state << 13
        state ^= state >> 17
        state ^= state << 5
        let length = Int(state % 16) + 1
        lengths.append(length)
        covered += length
    }
    return lengths
}
