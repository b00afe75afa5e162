import Foundation
import Glibc

/// One line on stderr.
func complain(_ line: String) { FileHandle.standardError.write(Data(line.utf8)) }

#if REEL_FUZZING
    // Built by tools/fuzz with -sanitize=fuzzer,address: libFuzzer's main drives these.
    // The target is named by REEL_FUZZ_TARGET.
    nonisolated(unsafe) var selected = FuzzTarget.pool

    @_cdecl("LLVMFuzzerInitialize")
    func fuzzerInitialize(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
    ) -> Int32 {
        let name = ProcessInfo.processInfo.environment["REEL_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            complain("reel-fuzz: REEL_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue))\n")
            exit(2)
        }
        selected = target
        return 0
    }

    @_cdecl("LLVMFuzzerTestOneInput")
    func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        selected.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    typealias Arguments = UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>

    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzer(
        _ argc: UnsafeMutablePointer<Int32>, _ argv: Arguments,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32

    /// The package manager names an executable's entry point after its module (it links
    /// `main` to it): libFuzzer's driver runs from here.
    @_cdecl("reel_fuzz_main")
    func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
        var count = argc
        var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
        return runFuzzer(&count, &arguments) { data, size in
            selected.run(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
    }
#else
    /// Without the fuzzer: runs the files given (a corpus, crashes kept as fixtures)
    /// through a target once each — how the tests replay them.
    ///
    ///     reel-fuzz TARGET FILE|DIR…
    ///     reel-fuzz seeds DIR FIXTURES      writes each target's seeds to DIR/TARGET/
    @main struct Replay {
        static func main() {
            let arguments = CommandLine.arguments.dropFirst()
            if arguments.first == "seeds", arguments.count == 3 {
                let folder = arguments[arguments.startIndex + 1]
                do { try Seeds.write(into: folder, fixtures: arguments[arguments.startIndex + 2]) } catch {
                    complain("reel-fuzz: cannot write the seeds: \(error)\n")
                    exit(1)
                }
                return
            }
            guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
                complain("usage: reel-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE|DIR…\n")
                exit(2)
            }
            var files: [String] = []
            for path in arguments.dropFirst() {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                    complain("reel-fuzz: no file '\(path)'\n")
                    exit(1)
                }
                if isFolder.boolValue {
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                    files += names.sorted().map { "\(path)/\($0)" }
                } else {
                    files.append(path)
                }
            }
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else {
                    complain("reel-fuzz: cannot read '\(file)'\n")
                    exit(1)
                }
                data.withUnsafeBytes { target.run($0) }
            }
            print("reel-fuzz \(name): \(files.count) input(s) ran")
        }
    }
#endif
