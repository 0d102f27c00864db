import ArgumentParser
import Crypto
import Foundation

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Print a new random 32-byte key in base64, as `serf keygen` does.",
        discussion: """
            The key serves both keyrings: gossip encryption ([gossip] encrypt_keys, --encrypt; \
            a stock Serf agent takes it too) and the cluster key that signs node-to-node \
            requests ([cluster] keys, ESPYMETRICS_CLUSTER_KEYS). Use a different key for each.

            Examples:
              espymetrics keygen
              ESPYMETRICS_CLUSTER_KEYS=$(espymetrics keygen) espymetrics serve
            """)

    func run() {
        print(Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString())
    }
}
