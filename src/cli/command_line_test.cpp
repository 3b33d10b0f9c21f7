#include "cli/command_line.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <vector>

#include "base/temp_dir_test_util.hpp"
#include "cli/parse_test_util.hpp"

namespace godwit {
namespace {

using testing::parse;
using testing::parse_error;

namespace fs = std::filesystem;

MachineConfig parse_ok(std::initializer_list<std::string> args) {
  auto result = parse(args);
  EXPECT_TRUE(result.has_value()) << result.error().message();
  if (!result) return {};
  EXPECT_EQ(result->action, CommandLine::Action::kRun);
  return result->config;
}

const ChardevConfig* find_chardev(const MachineConfig& config, const std::string& id) {
  for (const auto& chardev : config.chardevs) {
    if (chardev.id == id) return &chardev;
  }
  return nullptr;
}

// A readable kernel file for -kernel, removed afterwards.
class KernelFile {
 public:
  KernelFile() : path_(dir_ / "Image.elf") {
    std::ofstream(path_) << "\x7f"
                            "ELF";
  }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  testing::TempDir dir_;
  std::string path_;
};

TEST(CommandLine, DefaultsMatchQemuVirt) {
  const MachineConfig config = parse_ok({});
  EXPECT_EQ(config.machine_type, "virt");
  EXPECT_EQ(config.ram_size_bytes, 128u << 20);
  EXPECT_FALSE(config.ram_size_given);
  EXPECT_EQ(config.smp, 1u);
  EXPECT_EQ(config.bios, "default");  // OpenSBI fw_dynamic, as QEMU 10 without -bios
  ASSERT_EQ(config.serial_chardev_ids, std::vector<std::string>{"serial0"});
  const ChardevConfig* serial = find_chardev(config, "serial0");
  ASSERT_NE(serial, nullptr);
  EXPECT_EQ(serial->kind, ChardevKind::kStdio);
  EXPECT_FALSE(serial->mux);
  EXPECT_TRUE(serial->signal);
}

TEST(CommandLine, FullCommandLineInAnyOrder) {
  KernelFile kernel;
  const MachineConfig config = parse_ok({"-append",      "console=ttyS0 earlycon",
                                         "-smp",         "4",
                                         "-kernel",      kernel.path(),
                                         "-m",           "256",
                                         "-M",           "virt",
                                         "-bios",        "none",
                                         "-nographic",   "-S",
                                         "-name",        "vm1",
                                         "-pidfile",     "/run/g.pid",
                                         "-no-shutdown", "-display",
                                         "none"});
  EXPECT_EQ(config.append, "console=ttyS0 earlycon");
  EXPECT_EQ(config.smp, 4u);
  EXPECT_EQ(config.kernel_path, kernel.path());
  EXPECT_EQ(config.ram_size_bytes, 256u << 20);
  EXPECT_TRUE(config.ram_size_given);
  EXPECT_TRUE(config.nographic);
  EXPECT_TRUE(config.start_paused);
  EXPECT_EQ(config.name, "vm1");
  EXPECT_EQ(config.pidfile_path, "/run/g.pid");
  EXPECT_TRUE(config.no_shutdown);
  EXPECT_EQ(config.display, "none");
}

TEST(CommandLine, TwoDashesWorkToo) {
  const MachineConfig config = parse_ok({"--m", "64", "--smp", "cpus=2", "--nographic"});
  EXPECT_EQ(config.ram_size_bytes, 64u << 20);
  EXPECT_EQ(config.smp, 2u);
  EXPECT_TRUE(config.nographic);
}

TEST(CommandLine, UnknownOptionAndMissingArgument) {
  EXPECT_EQ(parse_error({"-foo"}), "-foo: invalid option");
  EXPECT_EQ(parse_error({"--foo"}), "--foo: invalid option");
  EXPECT_EQ(parse_error({"-m"}), "-m: requires an argument");
  EXPECT_EQ(parse_error({"-kernel"}), "-kernel: requires an argument");
  EXPECT_EQ(parse_error({"disk.img"}), "'disk.img': unexpected argument (options start with '-')");
  EXPECT_EQ(parse_error({"-"}), "'-': unexpected argument (options start with '-')");
}

TEST(CommandLine, VersionAndHelpStopParsing) {
  auto version = parse({"-version", "-bogus"});
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ(version->action, CommandLine::Action::kVersion);
  EXPECT_EQ(version_text(), "godwit version 0.1.0\n");
  for (const char* help : {"-h", "-help", "--help"}) {
    auto result = parse({help});
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->action, CommandLine::Action::kHelp);
  }
  // Errors before them still count, as in QEMU.
  EXPECT_EQ(parse_error({"-m", "x", "-version"}), "-m: invalid size 'x'");
  const std::string help = help_text();
  for (const char* option : {"-machine", "-m ", "-smp", "-kernel", "-serial", "-chardev", "-object",
                             "-nographic", "-version"}) {
    EXPECT_NE(help.find(option), std::string::npos) << option;
  }
}

TEST(CommandLine, MachineHelpListsMachines) {
  for (const char* spelling : {"help", "?", "type=help"}) {
    auto result = parse({"-M", spelling});
    ASSERT_TRUE(result.has_value()) << spelling;
    EXPECT_EQ(result->action, CommandLine::Action::kListMachines);
  }
  EXPECT_NE(machine_list_text().find("virt"), std::string::npos);
}

TEST(CommandLine, MachineOptions) {
  const MachineConfig config =
      parse_ok({"-machine", "virt,aux-ram-share=on,dumpdtb=/tmp/v.dtb", "-object",
                "memory-backend-memfd,id=mem,size=1G", "-M", "memory-backend=mem"});
  EXPECT_TRUE(config.aux_ram_share);
  EXPECT_EQ(config.dumpdtb_path, "/tmp/v.dtb");
  EXPECT_EQ(config.memory_backend_id, "mem");
  EXPECT_EQ(config.ram_size_bytes, 1u << 30);  // the backend's size
  EXPECT_EQ(parse_ok({"-M", "type=virt,aux-ram-share=off"}).aux_ram_share, false);
}

TEST(CommandLine, MachineErrors) {
  EXPECT_EQ(parse_error({"-M", "sifive_u"}),
            "-M: unsupported machine type \"sifive_u\" (use -machine help to list "
            "supported machines)");
  EXPECT_EQ(parse_error({"-M", "virt,bogus=1"}), "-M: invalid parameter 'bogus'");
  EXPECT_EQ(parse_error({"-M", "virt,aux-ram-share=maybe"}),
            "-M: parameter 'aux-ram-share' expects 'on' or 'off'");
  EXPECT_EQ(parse_error({"-M", "virt,dumpdtb"}), "-M: expected '=' after parameter 'dumpdtb'");
  EXPECT_EQ(parse_error({"--machine", "virt,bogus=1"}), "--machine: invalid parameter 'bogus'");
  EXPECT_EQ(parse_error({"-M", "virt,memory-backend=zz"}),
            "-machine: memory backend 'zz' not found");
}

TEST(CommandLine, MemorySizes) {
  EXPECT_EQ(parse_ok({"-m", "512"}).ram_size_bytes, 512u << 20);
  EXPECT_EQ(parse_ok({"-m", "2G"}).ram_size_bytes, 2ull << 30);
  EXPECT_EQ(parse_ok({"-m", "2g"}).ram_size_bytes, 2ull << 30);
  EXPECT_EQ(parse_ok({"-m", "1.5G"}).ram_size_bytes, 3ull << 29);
  EXPECT_EQ(parse_ok({"-m", "size=2G"}).ram_size_bytes, 2ull << 30);
  EXPECT_EQ(parse_ok({"-m", "65536K"}).ram_size_bytes, 64u << 20);
  EXPECT_EQ(parse_ok({"-m", "64", "-m", "96"}).ram_size_bytes, 96u << 20);  // last wins
  // QEMU: 0 or nothing keeps the default.
  const MachineConfig zero = parse_ok({"-m", "0"});
  EXPECT_EQ(zero.ram_size_bytes, 128u << 20);
  EXPECT_FALSE(zero.ram_size_given);
  EXPECT_EQ(parse_ok({"-m", ""}).ram_size_bytes, 128u << 20);
}

TEST(CommandLine, BadMemorySizes) {
  EXPECT_EQ(parse_error({"-m", "12Q"}), "-m: invalid size '12Q'");
  EXPECT_EQ(parse_error({"-m", "64MB"}), "-m: invalid size '64MB'");
  EXPECT_EQ(parse_error({"-m", "1.5"}), "-m: invalid size '1.5'");
  EXPECT_EQ(parse_error({"-m", "-1"}), "-m: invalid size '-1'");
  EXPECT_EQ(parse_error({"-m", "size="}), "-m: invalid size ''");
  EXPECT_EQ(parse_error({"-m", "foo=1"}), "-m: invalid parameter 'foo'");
  EXPECT_EQ(parse_error({"-m", "size=64,slots=2"}), "-m: invalid parameter 'slots'");
}

TEST(CommandLine, Smp) {
  EXPECT_EQ(parse_ok({"-smp", "8"}).smp, 8u);
  EXPECT_EQ(parse_ok({"-smp", "cpus=3"}).smp, 3u);
  EXPECT_EQ(parse_error({"-smp", "9"}),
            "-smp: invalid SMP CPUs 9: the maximum supported by machine 'virt' is 8");
  EXPECT_EQ(parse_error({"-smp", "0"}), "-smp: CPU topology parameters must be greater than zero");
  EXPECT_EQ(parse_error({"-smp", "x"}), "-smp: parameter 'cpus' expects an integer, not 'x'");
  EXPECT_EQ(parse_error({"-smp", "2,sockets=2"}), "-smp: invalid parameter 'sockets'");
  EXPECT_EQ(parse_error({"-smp", ""}), "-smp: parameter 'cpus' is missing");
}

TEST(CommandLine, BiosTakesDefaultNoneOrAFileFoundLater) {
  EXPECT_EQ(parse_ok({"-bios", "none"}).bios, "none");
  EXPECT_EQ(parse_ok({"-bios", "default"}).bios, "default");
  // Looked up when the machine is built, once every -L is known.
  const MachineConfig config = parse_ok({"-bios", "opensbi.bin", "-L", "/opt/fw", "-L", "/srv/fw"});
  EXPECT_EQ(config.bios, "opensbi.bin");
  EXPECT_EQ(config.data_dirs, (std::vector<std::string>{"/opt/fw", "/srv/fw"}));
  EXPECT_EQ(parse_error({"-bios", ""}), "-bios: no firmware file given (use default, none or a file)");
  EXPECT_EQ(parse_error({"-L", ""}), "-L: no directory given");
}

TEST(CommandLine, InitrdAndDtbMustBeReadable) {
  KernelFile kernel;
  const MachineConfig config = parse_ok({"-kernel", kernel.path(), "-initrd", kernel.path(), "-dtb", kernel.path()});
  EXPECT_EQ(config.initrd_path, kernel.path());
  EXPECT_EQ(config.dtb_path, kernel.path());
  const std::string missing = kernel.dir() + "/nope";
  EXPECT_EQ(parse_error({"-kernel", kernel.path(), "-initrd", missing}),
            "-initrd: cannot read '" + missing + "': No such file or directory");
  EXPECT_EQ(parse_error({"-dtb", kernel.dir()}), "-dtb: cannot read '" + kernel.dir() + "': Is a directory");
  EXPECT_EQ(parse_error({"-initrd", ""}), "-initrd: no initrd file given");
}

TEST(CommandLine, InitrdAndAppendNeedAKernelAsInQemu) {
  KernelFile kernel;
  EXPECT_EQ(parse_error({"-initrd", kernel.path()}), "-initrd only allowed with -kernel option");
  EXPECT_EQ(parse_error({"-append", "quiet"}), "-append only allowed with -kernel option");
  EXPECT_EQ(parse_ok({"-append", "quiet", "-kernel", kernel.path()}).append, "quiet");
  EXPECT_EQ(parse_ok({"-append", ""}).append, "");
}

TEST(CommandLine, KernelMustBeReadable) {
  KernelFile kernel;
  EXPECT_EQ(parse_ok({"-kernel", kernel.path()}).kernel_path, kernel.path());
  const std::string missing = kernel.dir() + "/nope.elf";
  EXPECT_EQ(parse_error({"-kernel", missing}),
            "-kernel: cannot read '" + missing + "': No such file or directory");
  EXPECT_EQ(parse_error({"-kernel", kernel.dir()}),
            "-kernel: cannot read '" + kernel.dir() + "': Is a directory");
}

TEST(CommandLine, NameAndDisplay) {
  EXPECT_EQ(parse_ok({"-name", "guest=db1"}).name, "db1");
  EXPECT_EQ(parse_ok({"-name", "a,,b"}).name, "a,b");
  EXPECT_EQ(parse_error({"-name", "guest=x,foo=1"}), "-name: invalid parameter 'foo'");
  EXPECT_EQ(parse_error({"-display", "gtk"}),
            "-display: unsupported display 'gtk': only 'none' is supported");
}

TEST(CommandLine, NographicMultiplexesStdioAndPassesCtrlC) {
  const MachineConfig config = parse_ok({"-nographic"});
  ASSERT_EQ(config.serial_chardev_ids, std::vector<std::string>{"serial0"});
  const ChardevConfig* serial = find_chardev(config, "serial0");
  ASSERT_NE(serial, nullptr);
  EXPECT_EQ(serial->kind, ChardevKind::kStdio);
  EXPECT_TRUE(serial->mux);
  EXPECT_FALSE(serial->signal);
}

TEST(CommandLine, SerialBackends) {
  const MachineConfig config = parse_ok(
      {"-serial", "null", "-serial", "file:/tmp/a,b.log", "-serial",
       "unix:/tmp/s.sock,server=on,wait=off", "-serial", "tcp:127.0.0.1:4444", "-serial",
       "tcp:[::1]:5555,server=on", "-serial", "tcp::6666,server,nowait", "-serial", "stdio"});
  ASSERT_EQ(config.serial_chardev_ids,
            (std::vector<std::string>{"serial0", "serial1", "serial2", "serial3", "serial4",
                                      "serial5", "serial6"}));
  ASSERT_EQ(config.chardevs.size(), 7u);
  EXPECT_EQ(config.chardevs[0].kind, ChardevKind::kNull);
  EXPECT_EQ(config.chardevs[1].kind, ChardevKind::kFile);
  EXPECT_EQ(config.chardevs[1].path, "/tmp/a,b.log");  // legacy syntax: no comma parsing
  const ChardevConfig& unix_socket = config.chardevs[2];
  EXPECT_EQ(unix_socket.kind, ChardevKind::kSocket);
  EXPECT_EQ(unix_socket.path, "/tmp/s.sock");
  EXPECT_TRUE(unix_socket.server);
  EXPECT_FALSE(unix_socket.wait);
  const ChardevConfig& tcp_client = config.chardevs[3];
  EXPECT_EQ(tcp_client.host, "127.0.0.1");
  EXPECT_EQ(tcp_client.port, 4444);
  EXPECT_FALSE(tcp_client.server);
  const ChardevConfig& tcp6 = config.chardevs[4];
  EXPECT_EQ(tcp6.host, "::1");
  EXPECT_EQ(tcp6.port, 5555);
  EXPECT_TRUE(tcp6.server);
  EXPECT_TRUE(tcp6.wait);  // QEMU's default
  const ChardevConfig& any_host = config.chardevs[5];
  EXPECT_EQ(any_host.host, "");
  EXPECT_EQ(any_host.port, 6666);
  EXPECT_TRUE(any_host.server);
  EXPECT_FALSE(any_host.wait);
  EXPECT_EQ(config.chardevs[6].kind, ChardevKind::kStdio);
  EXPECT_FALSE(config.chardevs[6].mux);
}

TEST(CommandLine, SerialNoneMeansNoSerialPort) {
  const MachineConfig config = parse_ok({"-serial", "none"});
  EXPECT_TRUE(config.serial_chardev_ids.empty());
  EXPECT_TRUE(config.chardevs.empty());
}

TEST(CommandLine, ExplicitSerialReplacesTheNographicDefault) {
  const MachineConfig config = parse_ok({"-nographic", "-serial", "null"});
  ASSERT_EQ(config.chardevs.size(), 1u);
  EXPECT_EQ(config.chardevs[0].kind, ChardevKind::kNull);
}

TEST(CommandLine, SerialErrors) {
  EXPECT_EQ(parse_error({"-serial", "foo:bar"}), "-serial: 'foo:bar' is not a valid char driver");
  EXPECT_EQ(parse_error({"-serial", "tcp:localhost"}),
            "-serial: invalid address 'localhost', expected HOST:PORT");
  EXPECT_EQ(parse_error({"-serial", "tcp:localhost:http"}), "-serial: invalid port 'http'");
  EXPECT_EQ(parse_error({"-serial", "tcp:[::1:80"}),
            "-serial: invalid address '[::1:80', expected [HOST]:PORT");
  EXPECT_EQ(parse_error({"-serial", "tcp:h:1,wait=off"}),
            "-serial: 'wait' option is incompatible with client connect mode");
  EXPECT_EQ(parse_error({"-serial", "unix:/s,telnet=on"}), "-serial: invalid parameter 'telnet'");
  EXPECT_EQ(parse_error({"-serial", "file:"}), "-serial: file: no filename given");
  EXPECT_EQ(parse_error({"-serial", "chardev:nope"}),
            "-serial chardev:nope: chardev 'nope' not found");
}

TEST(CommandLine, ChardevDefinitionsAndSerialReference) {
  const MachineConfig config = parse_ok(
      {"-serial", "chardev:con", "-chardev", "socket,id=con,path=/tmp/c.sock,server=on,wait=off",
       "-chardev", "file,id=log,path=/tmp/l,,og,append=on", "-chardev", "null,id=n", "-chardev",
       "stdio,id=tty,signal=off,mux=on", "-chardev", "socket,id=t,host=::1,port=7000"});
  EXPECT_EQ(config.serial_chardev_ids, std::vector<std::string>{"con"});
  const ChardevConfig* con = find_chardev(config, "con");
  ASSERT_NE(con, nullptr);
  EXPECT_EQ(con->kind, ChardevKind::kSocket);
  EXPECT_EQ(con->path, "/tmp/c.sock");
  EXPECT_TRUE(con->server);
  EXPECT_FALSE(con->wait);
  const ChardevConfig* log = find_chardev(config, "log");
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->path, "/tmp/l,og");
  EXPECT_TRUE(log->append);
  EXPECT_EQ(find_chardev(config, "n")->kind, ChardevKind::kNull);
  const ChardevConfig* tty = find_chardev(config, "tty");
  EXPECT_FALSE(tty->signal);
  EXPECT_TRUE(tty->mux);
  const ChardevConfig* t = find_chardev(config, "t");
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->port, 7000);
  EXPECT_FALSE(t->server);
  EXPECT_EQ(find_chardev(config, "serial0"), nullptr);  // no default serial was added
}

TEST(CommandLine, ChardevErrors) {
  EXPECT_EQ(parse_error({"-chardev", "null"}), "-chardev: no id specified");
  EXPECT_EQ(parse_error({"-chardev", "bogus,id=a"}),
            "-chardev: 'bogus' is not a valid char driver name (stdio, null, file, socket)");
  EXPECT_EQ(parse_error({"-chardev", "null,id=a,foo=1"}), "-chardev: invalid parameter 'foo'");
  EXPECT_EQ(parse_error({"-chardev", "file,id=f"}), "-chardev: file: no filename given");
  EXPECT_EQ(parse_error({"-chardev", "socket,id=s,host=localhost"}),
            "-chardev: socket: no port given");
  EXPECT_EQ(parse_error({"-chardev", "socket,id=s"}), "-chardev: socket: no path or port given");
  EXPECT_EQ(parse_error({"-chardev", "socket,id=s,path=/a,host=x"}),
            "-chardev: socket: give either path= or host=/port=, not both");
  EXPECT_EQ(parse_error({"-chardev", "socket,id=s,host=h,port=70000"}),
            "-chardev: socket: invalid port '70000'");
  EXPECT_EQ(parse_error({"-chardev", "socket,id=s,path=/a,wait=off"}),
            "-chardev: socket: 'wait' option is incompatible with client connect mode");
  EXPECT_EQ(parse_error({"-chardev", "stdio,id=s,signal=maybe"}),
            "-chardev: parameter 'signal' expects 'on' or 'off'");
  EXPECT_EQ(parse_error({"-chardev", "null,id=a", "-chardev", "null,id=a"}),
            "-chardev: duplicate ID 'a' for chardev");
  EXPECT_EQ(parse_error({"-chardev", "null,id=serial0", "-serial", "null"}),
            "-chardev: duplicate ID 'serial0' for chardev");
  EXPECT_EQ(parse_error({"-chardev", "stdio,id=a", "-chardev", "stdio,id=b", "-serial", "null"}),
            "-chardev: cannot use stdio by multiple character devices");
  // -nographic's default console is stdio too, as in QEMU.
  EXPECT_EQ(parse_error({"-nographic", "-chardev", "stdio,id=x"}),
            "-chardev: cannot use stdio by multiple character devices");
}

TEST(CommandLine, MemoryBackendObjects) {
  const MachineConfig config =
      parse_ok({"-object", "memory-backend-ram,id=r,size=64M", "-object",
                "memory-backend-memfd,id=m,size=1G", "-object",
                "memory-backend-file,id=f,size=512M,mem-path=/dev/shm/g,,x,share=on", "-object",
                "memory-backend-memfd,id=p,size=4096,share=off"});
  ASSERT_EQ(config.memory_backends.size(), 4u);
  EXPECT_EQ(config.memory_backends[0].kind, MemoryBackendKind::kRam);
  EXPECT_EQ(config.memory_backends[0].size_bytes, 64u << 20);
  EXPECT_FALSE(config.memory_backends[0].share);
  EXPECT_EQ(config.memory_backends[1].kind, MemoryBackendKind::kMemfd);
  EXPECT_TRUE(config.memory_backends[1].share);  // QEMU's memfd default
  EXPECT_EQ(config.memory_backends[2].kind, MemoryBackendKind::kFile);
  EXPECT_EQ(config.memory_backends[2].mem_path, "/dev/shm/g,x");
  EXPECT_TRUE(config.memory_backends[2].share);
  EXPECT_EQ(config.memory_backends[3].size_bytes, 4096u);  // bytes without a suffix
  EXPECT_FALSE(config.memory_backends[3].share);
  EXPECT_TRUE(config.memory_backend_id.empty());
  EXPECT_EQ(config.ram_size_bytes, 128u << 20);  // unused backends leave RAM alone
}

TEST(CommandLine, MemoryBackendSizeAgreesWithM) {
  const MachineConfig same =
      parse_ok({"-m", "1G", "-object", "memory-backend-ram,id=mem,size=1024M", "-M",
                "virt,memory-backend=mem"});
  EXPECT_EQ(same.ram_size_bytes, 1u << 30);
  EXPECT_EQ(parse_error({"-m", "256", "-object", "memory-backend-ram,id=mem,size=128M", "-M",
                         "virt,memory-backend=mem"}),
            "-m: machine memory size 256 MiB does not match the size 128 MiB of memory "
            "backend 'mem'");
}

TEST(CommandLine, ObjectErrors) {
  EXPECT_EQ(parse_error({"-object", "memory-backend-ram,size=1M"}),
            "-object: parameter 'id' is missing");
  EXPECT_EQ(parse_error({"-object", "memory-backend-ram,id=m"}),
            "-object: parameter 'size' is missing");
  EXPECT_EQ(parse_error({"-object", "memory-backend-ram,id=m,size=1Q"}),
            "-object: invalid size '1Q'");
  EXPECT_EQ(parse_error({"-object", "memory-backend-ram,id=m,size=0"}),
            "-object: property 'size' of memory-backend-ram doesn't take value '0'");
  EXPECT_EQ(parse_error({"-object", "memory-backend-ram,id=m,size=1M,foo=2"}),
            "-object: invalid parameter 'foo'");
  EXPECT_EQ(parse_error({"-object", "memory-backend-memfd,id=m,size=1M,mem-path=/tmp"}),
            "-object: invalid parameter 'mem-path'");
  EXPECT_EQ(parse_error({"-object", "memory-backend-file,id=m,size=1M"}),
            "-object: parameter 'mem-path' is missing");
  EXPECT_EQ(parse_error({"-object", "memory-backend-ram,id=m,size=1M,share=perhaps"}),
            "-object: parameter 'share' expects 'on' or 'off'");
  EXPECT_EQ(parse_error({"-object", "iothread,id=io0"}),
            "-object: unsupported object type 'iothread' (memory-backend-ram, "
            "memory-backend-memfd, memory-backend-file, rng-builtin, rng-random)");
  EXPECT_EQ(parse_error({"-object", "memory-backend-ram,id=m,size=1M", "-object",
                         "memory-backend-ram,id=m,size=1M"}),
            "-object: duplicate ID 'm' for object");
}

TEST(CommandLine, ParsingCreatesNoFiles) {
  KernelFile kernel;
  const std::string socket = kernel.dir() + "/s.sock";
  const std::string log = kernel.dir() + "/out.log";
  const std::string ram = kernel.dir() + "/ram";
  parse_ok({"-serial", "unix:" + socket + ",server=on,wait=off", "-chardev",
            "file,id=f,path=" + log, "-object", "memory-backend-file,id=m,size=1M,mem-path=" + ram,
            "-pidfile", kernel.dir() + "/pid"});
  EXPECT_FALSE(fs::exists(socket));
  EXPECT_FALSE(fs::exists(log));
  EXPECT_FALSE(fs::exists(ram));
  EXPECT_FALSE(fs::exists(kernel.dir() + "/pid"));
}

}  // namespace
}  // namespace godwit

namespace godwit {
namespace {

TEST(CommandLineMonitors, QmpAndMonitorMakeCompatMonitorChardevs) {
  auto result = parse_command_line(std::vector<std::string>{
      "-qmp", "unix:/tmp/q.sock,server=on,wait=off", "-monitor", "tcp:127.0.0.1:4444,server=on,wait=off",
      "-monitor", "none"});
  ASSERT_TRUE(result) << result.error().message();
  const MachineConfig& config = result->config;
  ASSERT_EQ(config.monitors.size(), 2u);
  EXPECT_EQ(config.monitors[0].chardev_id, "compat_monitor0");
  EXPECT_TRUE(config.monitors[0].control);
  EXPECT_EQ(config.monitors[1].chardev_id, "compat_monitor1");
  EXPECT_FALSE(config.monitors[1].control);
  const ChardevConfig& qmp = config.chardevs[0];
  EXPECT_EQ(qmp.id, "compat_monitor0");
  EXPECT_EQ(qmp.kind, ChardevKind::kSocket);
  EXPECT_EQ(qmp.path, "/tmp/q.sock");
  EXPECT_TRUE(qmp.server);
  EXPECT_FALSE(qmp.wait);
}

TEST(CommandLineMonitors, MonOnAChardevDefaultsToReadline) {
  auto result = parse_command_line(std::vector<std::string>{
      "-chardev", "socket,id=m0,path=/tmp/m.sock,server=on,wait=off", "-mon", "chardev=m0",
      "-chardev", "socket,id=m1,path=/tmp/n.sock,server=on,wait=off", "-mon", "m1,mode=control,pretty=on"});
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->config.monitors.size(), 2u);
  EXPECT_FALSE(result->config.monitors[0].control);
  EXPECT_TRUE(result->config.monitors[1].control);
  EXPECT_TRUE(result->config.monitors[1].pretty);

  auto missing = parse_command_line(std::vector<std::string>{"-mon", "chardev=ghost"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("ghost"), std::string::npos);
  auto bad_mode = parse_command_line(std::vector<std::string>{
      "-chardev", "null,id=n", "-mon", "chardev=n,mode=fancy"});
  ASSERT_FALSE(bad_mode);
  EXPECT_NE(bad_mode.error().message().find("fancy"), std::string::npos);
}

}  // namespace
}  // namespace godwit

namespace godwit {
namespace {

TEST(CommandLine, VirtioDevicesAndGlobals) {
  const MachineConfig config =
      parse_ok({"-object", "rng-random,id=r0,filename=/dev/urandom", "-device", "virtio-rng-device,rng=r0", "-chardev",
                "null,id=c0", "-device", "virtio-serial-device", "-device", "virtconsole,chardev=c0,name=con",
                "-global", "virtio-mmio.force-legacy=false"});
  ASSERT_EQ(config.devices.size(), 3u);
  EXPECT_EQ(config.devices[0].driver, "virtio-rng-device");
  EXPECT_EQ(config.devices[0].rng, "r0");
  EXPECT_EQ(config.devices[2].chardev, "c0");
  EXPECT_EQ(config.devices[2].name, "con");
  ASSERT_EQ(config.rng_backends.size(), 1u);
  EXPECT_FALSE(config.rng_backends[0].builtin);
  EXPECT_FALSE(config.virtio_mmio_force_legacy);
  EXPECT_TRUE(parse_ok({}).virtio_mmio_force_legacy);  // QEMU 10's default
}

TEST(CommandLine, VirtioDeviceErrorsInQemusWords) {
  EXPECT_EQ(parse_error({"-device", "foo"}), "-device foo: 'foo' is not a valid device model name");
  EXPECT_EQ(parse_error({"-device", "virtio-rng-device,bar=1"}),
            "-device virtio-rng-device,bar=1: Property 'virtio-rng-device.bar' not found");
  EXPECT_EQ(parse_error({"-device", "virtio-rng-device,rng=x"}),
            "-device virtio-rng-device,rng=x: Property 'virtio-rng-device.rng' can't find value 'x'");
  EXPECT_EQ(parse_error({"-chardev", "null,id=c0", "-device", "virtconsole,chardev=c0"}),
            "-device virtconsole,chardev=c0: No 'virtio-serial-bus' bus found for device 'virtconsole'");
  EXPECT_EQ(parse_error({"-device", "virtio-serial-device", "-device", "virtconsole,chardev=no"}),
            "-device virtconsole,chardev=no: Property 'virtconsole.chardev' can't find value 'no'");
  EXPECT_EQ(parse_error({"-global", "virtio-mmio.force-legacy=maybe"}),
            "-global virtio-mmio.force-legacy=maybe: parameter 'force-legacy' expects 'on' or 'off'");
  EXPECT_EQ(parse_error({"-global", "virtio-mmio.nope=1"}), "-global virtio-mmio.nope=1: Property 'virtio-mmio.nope' not found");
  EXPECT_NE(parse_error({"-global", "e1000.mac=1"}).find("driver 'e1000'"), std::string::npos);
  std::vector<std::string> nine;
  for (int i = 0; i < 9; ++i) nine.insert(nine.end(), {"-device", "virtio-rng-device"});
  auto result = parse_command_line(nine);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message(),
            "-device virtio-rng-device: No 'virtio-bus' bus found for device 'virtio-rng-device'");
}

}  // namespace
}  // namespace godwit
