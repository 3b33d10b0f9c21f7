// A level-triggered interrupt wire from a device to an interrupt controller.
#pragma once

namespace godwit {

class InterruptController {
 public:
  virtual ~InterruptController() = default;
  // Sets the level of input `source` (1-based as in the PLIC; 0 is "no source").
  // Called from any thread.
  virtual void set_irq(unsigned source, bool level) = 0;
};

class IrqLine {
 public:
  IrqLine() = default;
  IrqLine(InterruptController* controller, unsigned source)
      : controller_(controller), source_(source) {}

  void set(bool level) const {
    if (controller_ != nullptr) controller_->set_irq(source_, level);
  }
  unsigned source() const { return source_; }

 private:
  InterruptController* controller_ = nullptr;
  unsigned source_ = 0;
};

}  // namespace godwit
