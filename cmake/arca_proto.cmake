# arca_proto_library(NAME PROTOS a.proto ... [GRPC] [DEPS lib ...])
# Generates C++ (and, with GRPC, gRPC service stubs) for .proto files that
# live under ${CMAKE_SOURCE_DIR}/proto or beside the code that owns them.
# Imports resolve against the proto/ root and the repository root.
function(arca_proto_library name)
  cmake_parse_arguments(P "GRPC" "" "PROTOS;DEPS" ${ARGN})
  set(out ${CMAKE_BINARY_DIR}/gen)
  set(srcs)
  foreach(proto ${P_PROTOS})
    get_filename_component(abs ${proto} ABSOLUTE)
    # Path relative to whichever import root contains it.
    file(RELATIVE_PATH rel_proto ${CMAKE_SOURCE_DIR}/proto ${abs})
    set(root ${CMAKE_SOURCE_DIR}/proto)
    if(rel_proto MATCHES "^\\.\\./")
      file(RELATIVE_PATH rel_proto ${CMAKE_SOURCE_DIR} ${abs})
      set(root ${CMAKE_SOURCE_DIR})
    endif()
    string(REGEX REPLACE "\\.proto$" "" base ${rel_proto})
    set(gen ${out}/${base}.pb.cc ${out}/${base}.pb.h)
    set(plugin_args)
    if(P_GRPC)
      list(APPEND gen ${out}/${base}.grpc.pb.cc ${out}/${base}.grpc.pb.h)
      set(plugin_args --grpc_out=${out} --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN})
    endif()
    add_custom_command(
      OUTPUT ${gen}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
      COMMAND protobuf::protoc --cpp_out=${out} ${plugin_args}
              -I ${CMAKE_SOURCE_DIR}/proto -I ${CMAKE_SOURCE_DIR} ${abs}
      DEPENDS ${abs} protobuf::protoc
      COMMENT "protoc ${rel_proto}"
      VERBATIM)
    list(APPEND srcs ${gen})
  endforeach()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} PUBLIC ${out})
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf ${P_DEPS})
  if(P_GRPC)
    target_link_libraries(${name} PUBLIC gRPC::grpc++)
  endif()
  # Generated code is not ours to warn about.
  target_compile_options(${name} PRIVATE -w)
endfunction()
