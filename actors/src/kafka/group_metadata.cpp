#include "kafka/group_metadata.hpp"

namespace phoenix::kafka {

struct group_metadata::impl {
  struct deleter {
    void operator()(rd_kafka_consumer_group_metadata_t* p) const noexcept {
      rd_kafka_consumer_group_metadata_destroy(p);
    }
  };
  std::unique_ptr<rd_kafka_consumer_group_metadata_t, deleter> native;
};

group_metadata group_metadata_access::adopt(rd_kafka_consumer_group_metadata_t* owned) {
  auto p = std::make_shared<group_metadata::impl>();
  p->native.reset(owned);
  group_metadata gm;
  gm.impl_ = std::move(p);
  return gm;
}

const rd_kafka_consumer_group_metadata_t*
group_metadata_access::native(const group_metadata& gm) {
  return gm.impl_ ? gm.impl_->native.get() : nullptr;
}

result<group_metadata> group_metadata_of(rd_kafka_t& consumer) {
  auto* native = rd_kafka_consumer_group_metadata(&consumer);
  if (native == nullptr)
    return phoenix::error{runtime::errc::invalid_argument,
                          std::string{"no consumer group metadata for "} +
                              rd_kafka_name(&consumer) +
                              ": not a consumer with a group.id"};
  return group_metadata_access::adopt(native);
}

} // namespace phoenix::kafka
