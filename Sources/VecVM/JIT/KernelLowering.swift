// WIP: being rewritten (typed kernel IR).
struct KernelLowering {
    enum Unsupported: Error, CustomStringConvertible {
        case wip
        var description: String { "kernel lowering is being rewritten" }
    }
    static func lower(_ program: KernelProgram) throws(Unsupported) -> [UInt8] { throw .wip }
}
