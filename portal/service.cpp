// portal/service.cpp: being written (issue 14); see service.h.
#include "portal/service.h"

#include "core/log.h"

namespace sd::portal {

int run_portal(const Config&) {
  log::error("servicedesk portal: not built yet");
  return 78;
}

}  // namespace sd::portal
