// A small machine (raw spin-loop kernel, -S) for the monitor's tests, and a
// blocking line-oriented client for its sockets.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "machine/spin_machine_test_util.hpp"
#include "machine/virt_machine.hpp"
#include "monitor/qmp_error.hpp"

namespace godwit::testing {

class SocketClient {
 public:
  explicit SocketClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    for (int i = 0; i < 200; ++i) {
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return;
      usleep(10000);
    }
    ADD_FAILURE() << "cannot connect to " << path;
  }
  ~SocketClient() { ::close(fd_); }

  void send(const std::string& text, int fd_to_pass = -1) {
    iovec iov{const_cast<char*>(text.data()), text.size()};
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd_to_pass >= 0) {
      message.msg_control = control;
      message.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&message);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
    }
    ASSERT_EQ(::sendmsg(fd_, &message, MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
  }

  // Reads until `end` appears (or 5 s pass); returns everything up to it.
  std::string read_until(const std::string& end) {
    timeval timeout{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    for (;;) {
      const size_t at = buffer_.find(end);
      if (at != std::string::npos) {
        std::string text = buffer_.substr(0, at + end.size());
        buffer_.erase(0, at + end.size());
        return text;
      }
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return "<closed> " + buffer_;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
  Json read_json() {
    const std::string line = read_until("\n");
    return Json::parse(line, nullptr, false);
  }
  // A command's reply, skipping events.
  Json command(const std::string& request, int fd_to_pass = -1) {
    send(request + "\n", fd_to_pass);
    for (;;) {
      Json message = read_json();
      if (message.is_discarded() || !message.contains("event")) return message;
    }
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

// A started machine (harts parked in prelaunch) for command handler tests.
class SpinMachineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto machine = VirtMachine::create(spin_config(kernel_.path()));
    ASSERT_TRUE(machine) << machine.error().message();
    machine_ = std::move(*machine);
    machine_->start();
  }
  void TearDown() override {
    machine_.reset();
  }
  SpinKernel kernel_;
  TempDir dir_;  // files the commands write
  std::unique_ptr<VirtMachine> machine_;
};

}  // namespace godwit::testing
