import EspyCore
import EspyLoop

/// An adaptive dimension as `/v1/dimensions` lists it.
public struct AdaptiveDimensionStatus: Sendable, Equatable {
    public let path: FieldPath
    public let isReady: Bool
    /// Of the records there when the path was added, the share counted so far (by seq).
    public let built: Double
    public let lastAsked: Timestamp
    /// Questions answered from its rollup since the node started.
    public let answers: Int
}

extension Shard {
    public var adaptiveDimensions: [AdaptiveDimensionStatus] {
        adaptive.entries.map { entry in
            AdaptiveDimensionStatus(path: entry.path, isReady: entry.isReady,
                                    built: entry.buildEnd == 0 ? 1 : min(1, Double(entry.builtThrough) / Double(entry.buildEnd)),
                                    lastAsked: Timestamp(microseconds: Int64(entry.lastAskedMilliseconds) * 1000), answers: entry.answers)
        }
    }

    func addAdaptive(_ path: FieldPath, slot: Int, evicting: FieldPath?) {
        let now = UInt64(Timestamp.now().microseconds / 1000)
        withWriter({ (writer) throws(StorageError) in try writer.addAdaptive(path, slot: slot, evicting: evicting, now: now) }) { [self] result in
            switch result {
            case .success(let entry):
                adaptive.added(path, entry: entry, evicted: evicting)
                logger.info("building a rollup for a path asked by reading bodies", metadata: [
                    "storage/path": "\(path)", "storage/evicted": "\(evicting?.description ?? "none")",
                ])
                buildAdaptive(slot: entry.slot)
            case .failure(let error):
                adaptive.added(path, entry: nil, evicted: nil)
                logger.error("could not add an adaptive dimension", metadata: ["storage/path": "\(path)", "storage/error": "\(error)"])
            }
        }
    }

    /// Builds the rollup of `slot` a chunk of records per background job, until it is ready.
    func buildAdaptive(slot: Int) {
        guard !isClosing, adaptive.entry(slot: slot)?.isReady == false else { return }
        withWriter(background: true, { (writer) throws(StorageError) in try writer.buildAdaptive(slot: slot) }) { [self] result in
            switch result {
            case .success(let through):
                adaptive.built(slot: slot, through: through)
                if let entry = adaptive.entry(slot: slot), entry.isReady {
                    logger.info("an adaptive dimension is ready", metadata: ["storage/path": "\(entry.path)"])
                }
                buildAdaptive(slot: slot)
            case .failure(let error):
                guard !isClosing else { return }
                logger.error("building an adaptive dimension failed; trying again in 5 s", metadata: [
                    "storage/slot": "\(slot)", "storage/error": "\(error)",
                ])
                let timer = Timer(loop: loop)
                timer.start(after: 5_000) { [self] in
                    timer.close()
                    buildAdaptive(slot: slot)
                }
            }
        }
    }
}
