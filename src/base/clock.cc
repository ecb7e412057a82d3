#include "entitle/clock.h"

namespace entitle {

SystemClock& SystemClock::Get() {
  static SystemClock* const clock = new SystemClock();
  return *clock;
}

}  // namespace entitle
