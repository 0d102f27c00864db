import EspyCore

// The JSON compactor and the one-pass path extractor, on what clients upload.
//
// Input: an optional first line of field paths separated by `;` (as `group_by` takes them),
// then the document. Without a line break the document is all of it, read at fixed paths.
//
// Checked beyond "no crash": compact output compacts to itself under both origins (a replica
// re-validates what its peer stored), and the extractor finds the same values in the compact
// form as in the original. The extractor also runs on the raw bytes, valid or not: imports
// that keep `server_time` read it before the record is validated.

private let defaultPaths = ["python$version_info$0", "uname.system", "server_time", "a.0.b"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONCompactor(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let newline = input.firstIndex(of: 0x0A)
    let pathText = newline.map { String(decoding: input[..<$0], as: UTF8.self) }
    let document = UnsafeBufferPointer(rebasing: input[(newline.map { $0 + 1 } ?? 0)...])
    let paths = (pathText.map { $0.split(separator: ";").map(String.init) } ?? defaultPaths)
        .compactMap { try? FieldPath(parsing: $0) }
    let extractor = JSONPathExtractor(paths: paths)

    let rawKeys = extractor.groupingKeys(from: document)
    for origin in [JSONCompactor.Origin.client, .stored] {
        for skippingByteOrderMark in [false, true] {
            guard let compact = try? JSONCompactor.compactObject(UnsafeRawBufferPointer(document), origin: origin,
                                                                 skippingByteOrderMark: skippingByteOrderMark)
            else { continue }
            checkIdempotent(compact)
            let compactKeys = compact.withUnsafeBufferPointer { extractor.groupingKeys(from: $0) }
            if skippingByteOrderMark == false || JSONCompactor.byteOrderMarkLength(document) == 0 {
                // Strings group by their decoded text, other values by compact text: only
                // strings and scalars are the same in both forms.
                for (raw, compacted) in zip(rawKeys, compactKeys) where raw.map(isScalar) ?? true {
                    fuzzCheck(raw == compacted, "extractor disagrees: \(String(describing: raw)) vs \(String(describing: compacted))")
                }
            }
        }
    }
    _ = try? JSONCompactor.compactObject(UnsafeRawBufferPointer(document), droppingTopLevelKey: "server_time")
    return 0
}

private func checkIdempotent(_ compact: [UInt8]) {
    for origin in [JSONCompactor.Origin.client, .stored] {
        let again: [UInt8]
        do { again = try JSONCompactor.compactObject(compact, origin: origin) } catch {
            // A client-rule refusal is fine for .stored output (duplicate keys); syntax is not.
            fuzzCheck(origin == .client, "compact output does not re-parse: \(error)")
            continue
        }
        fuzzCheck(again == compact, "compacting is not idempotent")
    }
}

/// No white space can hide inside it, so raw and compact text agree.
private func isScalar(_ key: String) -> Bool {
    !key.utf8.contains { $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "[") }
}
