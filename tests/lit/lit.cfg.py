# lit configuration for netc's golden IR and diagnostics tests.
#
# Each test names its tools through substitutions:
#   %netc       the netc driver under test
#   FileCheck   LLVM 14's FileCheck
# ctest passes both as --param (see tests/CMakeLists.txt).
import os
import lit.formats

config.name = "netc"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".net", ".nir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = lit_config.params.get("exec_root", "/tmp/netc-lit")
config.excludes = ["Inputs"]

netc = lit_config.params.get("netc")
filecheck = lit_config.params.get("filecheck", "FileCheck")
if not netc:
    lit_config.fatal("pass --param netc=<path to the netc driver>")
config.substitutions.append(("%netc", netc))
config.substitutions.append(("FileCheck", filecheck))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))

# `not` and FileCheck come from LLVM 14's tools.
llvm_bin = "/usr/lib/llvm-14/bin"
config.environment["PATH"] = llvm_bin + os.pathsep + os.environ.get("PATH", "")
